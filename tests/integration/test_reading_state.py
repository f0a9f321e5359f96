"""A reader's state in one book, their session history, and sessions left open closed by
the schedule at their last activity (real PostgreSQL, each test rolled back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from domain import events as ev
from domain.errors import NotFound
from domain.reading import sessions
from domain.reading.models import SessionEnd, SessionStart
from tests.factories import make_book, make_user


async def _open_session(
    conn: asyncpg.Connection, user: object, book: object, *, ago: timedelta, page: int = 3
) -> object:
    return await conn.fetchval(
        """INSERT INTO reading_sessions (user_id, book_id, started_at, start_page)
           VALUES ($1, $2, now() - $3::interval, $4) RETURNING id""",
        user, book, ago, page,
    )  # fmt: skip


async def _position(
    conn: asyncpg.Connection, user: object, book: object, *, ago: timedelta, page: int
) -> None:
    await conn.execute(
        """INSERT INTO reading_positions (user_id, book_id, device, current_page,
                                          progress_percentage, updated_at)
           VALUES ($1, $2, 'phone', $4, 0.25, now() - $3::interval)""",
        user, book, ago, page,
    )  # fmt: skip
    await conn.execute(
        """INSERT INTO reading_progress (user_id, book_id, current_page, progress_percentage,
                                         first_opened_at, last_read_at)
           VALUES ($1, $2, $4, 0.25, now() - interval '3 hours', now() - $3::interval)""",
        user, book, ago, page,
    )  # fmt: skip


async def test_a_session_left_open_ends_at_its_last_activity(conn: asyncpg.Connection) -> None:
    reader, other = await make_user(conn), await make_user(conn)
    book, busy_book = await make_book(conn, reader), await make_book(conn, other)
    left = await _open_session(conn, reader, book, ago=timedelta(hours=2))
    await _position(conn, reader, book, ago=timedelta(minutes=90), page=9)
    busy = await _open_session(conn, other, busy_book, ago=timedelta(hours=2))
    await _position(conn, other, busy_book, ago=timedelta(minutes=5), page=4)  # still reading
    fresh = await _open_session(conn, other, busy_book, ago=timedelta(minutes=10))

    stored = await sessions.close_stale(conn)
    assert [(e.channel, e.event) for e in stored] == [(f"user:{reader}", ev.SESSION_ENDED)]
    row = await conn.fetchrow("SELECT * FROM reading_sessions WHERE id = $1", left)
    assert row is not None
    assert row["ended_at"] - row["started_at"] == timedelta(minutes=30)
    assert (row["duration_seconds"], row["end_page"], row["pages_read"]) == (1800, 9, 6)
    still_open = await conn.fetch(
        "SELECT id FROM reading_sessions WHERE ended_at IS NULL ORDER BY started_at"
    )
    assert [r["id"] for r in still_open] == [busy, fresh]
    assert await sessions.close_stale(conn) == []  # nothing twice

    state = await sessions.reading_state(conn, reader, book)
    assert (state.total_sessions, state.total_time_spent_seconds) == (1, 1800)
    assert state.progress_percentage == 0.25 and not state.completed
    # 1,800 s read a quarter: 5,400 s are left, at 1,800 s in 14 days = 42 days
    assert state.estimated_finish_date is not None
    expected = datetime.now(UTC) + timedelta(days=42)
    assert abs(state.estimated_finish_date - expected) < timedelta(minutes=1)
    # a device that ends it late changes nothing
    late = await sessions.end(conn, reader, left, SessionEnd(end_page=50), None)  # type: ignore[arg-type]
    assert late.value.end_page == 9 and not late.events


async def test_history_pages_newest_first_and_is_the_callers_own(
    conn: asyncpg.Connection,
) -> None:
    reader, stranger = await make_user(conn), await make_user(conn)
    book = await make_book(conn, reader)
    first = await _open_session(conn, reader, book, ago=timedelta(days=2))
    started = await sessions.start(conn, reader, book, SessionStart(start_page=1), None)
    page = await sessions.history(conn, reader, book, cursor=None, limit=1)
    assert [s.id for s in page.items] == [started.value.id]
    rest = await sessions.history(conn, reader, book, cursor=page.next_cursor, limit=1)
    assert [s.id for s in rest.items] == [first] and rest.next_cursor is None
    untouched = await sessions.reading_state(conn, reader, book)
    assert (untouched.total_sessions, untouched.estimated_finish_date) == (0, None)
    for call in (sessions.history(conn, stranger, book, cursor=None, limit=5),
                 sessions.reading_state(conn, stranger, book)):  # fmt: skip
        with pytest.raises(NotFound):  # a private book of someone else
            await call
