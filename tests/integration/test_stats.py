"""Reading statistics against numbers computed by hand on a seeded data set, the streak
in the reader's own time zone, and the cache following the writes."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import asyncpg
import pytest

from domain.reading import highlights
from domain.reading.models import HighlightCreate
from domain.stats.operations import book_stats, streak, user_stats
from tests.factories import make_book, make_user


def test_streak_rules() -> None:
    today = date(2026, 11, 27)
    d = date.fromordinal
    t = today.toordinal()
    assert streak([], today) == 0
    assert streak([today], today) == 1
    assert streak([d(t - 1), d(t - 2)], today) == 2  # ending yesterday still counts
    assert streak([d(t - 2), d(t - 3)], today) == 0  # a day missed: broken
    assert streak([today, d(t - 1), d(t - 3)], today) == 2
    assert streak([d(t + 1), today, d(t - 1)], today) == 2  # a clock ahead is ignored


async def _session(conn: asyncpg.Connection, user: UUID, book: UUID, started: str,
                   seconds: int, wpm: float | None) -> None:  # fmt: skip
    await conn.execute(
        f"""INSERT INTO reading_sessions (user_id, book_id, started_at, ended_at,
                duration_seconds, reading_speed_wpm)
            VALUES ($1, $2, {started}, {started} + make_interval(secs => $3), $3, $4)""",
        user, book, seconds, wpm,
    )  # fmt: skip


async def test_user_and_book_stats_are_exact(conn: asyncpg.Connection) -> None:
    reader = await make_user(conn)
    other = await make_user(conn)
    own_a = await make_book(conn, reader)
    own_b = await make_book(conn, reader)
    public = await make_book(conn, other, public=True)
    # three sessions (and five highlights below): 3 sessions' time, not 15
    for seconds, wpm in ((600, 200.0), (1200, 250.0), (1800, None)):
        await _session(conn, reader, own_a, "now() - interval '3 hours'", seconds, wpm)
    await conn.execute(
        """INSERT INTO reading_progress (user_id, book_id, progress_percentage, completed)
           VALUES ($1, $2, 1.0, true), ($1, $3, 0.5, false), ($4, $3, 0.25, false)""",
        reader, own_a, public, other,
    )  # fmt: skip
    for i in range(6):
        made = await highlights.create(
            conn, reader, own_a if i < 5 else public,
            HighlightCreate(selected_text=f"line {i}", page_number=1, start_offset=i * 10,
                            end_offset=i * 10 + 5), "phone",
        )  # fmt: skip
        if i == 0:
            await highlights.delete(conn, reader, made.value.id, "phone")
    await highlights.create(
        conn, other, public,
        HighlightCreate(selected_text="theirs", page_number=1, start_offset=0, end_offset=6),
        "tablet",
    )  # fmt: skip
    await conn.execute(
        """INSERT INTO bookmarks (user_id, book_id, page_number, deleted_at)
           VALUES ($1, $2, 3, NULL), ($1, $2, 4, NULL), ($1, $2, 5, now())""",
        reader, own_b,
    )  # fmt: skip
    template = await conn.fetchval(
        "INSERT INTO quote_templates (name, design_config) VALUES ('t', '{}') RETURNING id"
    )
    highlight_id = await conn.fetchval(
        "SELECT id FROM highlights WHERE user_id = $1 AND deleted_at IS NULL LIMIT 1", reader
    )
    await conn.execute(
        """INSERT INTO quote_shares (user_id, book_id, highlight_id, template_id, quote_text,
               referral_code) VALUES ($1, $2, $3, $4, 'a quote of note', 'abc123')""",
        reader, own_a, highlight_id, template,
    )  # fmt: skip

    mine = await user_stats(conn, reader)
    assert mine.total_books == 3  # two own, one public opened
    assert mine.completed_books == 1
    assert mine.total_highlights == 5  # six made, one deleted
    assert mine.total_bookmarks == 2
    assert mine.total_sessions == 3
    assert mine.total_reading_time == 3600
    assert mine.average_reading_speed == 225.0  # the session without a speed is left out
    assert mine.quotes_shared == 1
    assert mine.reading_streak == 1

    book = await book_stats(conn, other, public)
    assert book.unique_highlighters == 2 and book.total_highlights == 2
    assert book.unique_readers == 2
    assert book.average_completion_rate == pytest.approx(0.375)
    assert (await book_stats(conn, reader, own_a)).total_shares == 1

    # a write that changes the numbers is seen at once (the cache follows the channel)
    await highlights.create(
        conn, reader, own_b,
        HighlightCreate(selected_text="new", page_number=1, start_offset=0, end_offset=3),
        "phone",
    )  # fmt: skip
    assert (await user_stats(conn, reader)).total_highlights == 6
    assert (await book_stats(conn, reader, own_b)).total_highlights == 1


async def test_streak_follows_the_readers_time_zone(conn: asyncpg.Connection) -> None:
    """Two sessions on one UTC day that fall on two local days in Los Angeles: a
    two-day streak there, not in UTC."""
    reader = await make_user(conn)
    book = await make_book(conn, reader)
    local_day = "(now() AT TIME ZONE 'America/Los_Angeles')::date"
    for day, at in ((2, "17:00"), (1, "15:00")):
        await _session(
            conn, reader, book,
            f"(({local_day} - {day}) + time '{at}') AT TIME ZONE 'America/Los_Angeles'",
            600, 200.0,
        )  # fmt: skip
    await conn.execute("UPDATE users SET time_zone = 'America/Los_Angeles' WHERE id = $1", reader)
    assert (await user_stats(conn, reader)).reading_streak == 2
    await conn.execute("UPDATE users SET time_zone = 'UTC' WHERE id = $1", reader)
    assert (await user_stats(conn, reader)).reading_streak <= 1
