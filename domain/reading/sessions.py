"""Reading sessions: started on a device, ended with the pages and words read; the server
computes duration and speed, and rolls each finished session into reading progress."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import Conflict, NotFound
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.reading import rules
from domain.reading.models import ReadingSession, ReadingState, SessionEnd, SessionStart
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written

# a session no device has ended is closed once nothing happened in it for this long
SESSION_IDLE = timedelta(minutes=30)
CLOSE_BATCH = 500


def _session(row: Any) -> ReadingSession:
    return msgspec.convert({k: row[k] for k in ReadingSession.__struct_fields__}, ReadingSession)


async def start(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: SessionStart, origin: str | None
) -> Written[ReadingSession]:
    session_id = cmd.id or uuid.uuid4()
    async with conn.transaction():
        await readable_book(conn, book_id, user_id)
        # sessions are partitioned by start time, so the id alone has no unique index:
        # a lock on the id makes the check-then-insert of a retried start safe
        await conn.execute(Q.lock_session_id, str(session_id))
        found = await conn.fetchrow(Q.session_by_id, session_id)
        if found is not None:
            if found["user_id"] != user_id:
                raise Conflict("that id is already in use", field="id")
            return Written(_session(found), created=False)
        row = await conn.fetchrow(
            Q.insert_session,
            session_id,
            user_id,
            book_id,
            cmd.start_page,
            cmd.device_type,
            cmd.platform,
        )
        session = _session(row)
        pending = [Event(user_channel(user_id), ev.SESSION_STARTED, session)]
        return Written(session, await append_events(conn, pending, origin))


async def end(
    conn: Conn, user_id: UUID, session_id: UUID, cmd: SessionEnd, origin: str | None
) -> Written[ReadingSession]:
    async with conn.transaction():
        row = await conn.fetchrow(Q.session_for_update, session_id)
        if row is None or row["user_id"] != user_id:
            raise NotFound("no such session")
        session = _session(row)
        if session.ended_at is not None:
            return Written(session, created=False)  # a retried end changes nothing
        ended_at = datetime.now(UTC)
        duration, pages, wpm = rules.session_figures(
            session.started_at, ended_at, session.start_page, cmd.end_page, cmd.words_read
        )
        row = await conn.fetchrow(
            Q.end_session,
            session_id,
            session.started_at,
            ended_at,
            cmd.end_page,
            cmd.words_read,
            duration,
            pages,
            wpm,
        )
        ended = _session(row)
        await conn.execute(Q.roll_up_session, user_id, session.book_id, duration)
        pending = [Event(user_channel(user_id), ev.SESSION_ENDED, ended)]
        return Written(ended, await append_events(conn, pending, origin))


async def history(
    conn: Conn, user_id: UUID, book_id: UUID, *, cursor: str | None, limit: int
) -> Page[ReadingSession]:
    """The caller's sessions on the book, newest first."""
    await readable_book(conn, book_id, user_id)
    stamp, last_id = decode_cursor(cursor) or (None, None)
    rows = await conn.fetch(Q.sessions_of_book, user_id, book_id, stamp, last_id, limit + 1)
    return page_of([_session(r) for r in rows], limit, lambda s: (s.started_at, s.id))


async def reading_state(conn: Conn, user_id: UUID, book_id: UUID) -> ReadingState:
    await readable_book(conn, book_id, user_id)
    row = await conn.fetchrow(Q.reading_state, user_id, book_id)
    assert row is not None  # one row, joined or not
    finish = rules.estimated_finish(
        row["progress_percentage"], row["total_time_spent_seconds"], row["recent_seconds"],
        datetime.now(UTC),
    )  # fmt: skip
    values = dict(row)
    fields = {k: values[k] for k in ReadingState.__struct_fields__ if k in values}
    return msgspec.convert(
        {**fields, "book_id": book_id, "completed": bool(row["completed"]),
         "estimated_finish_date": finish},
        ReadingState,
    )  # fmt: skip


async def close_stale(conn: Conn, idle: timedelta = SESSION_IDLE) -> list[StoredEvent]:
    """End a batch of sessions left open, each at its last activity, rolled into
    progress like any ended session; their `session.ended` events, committed."""
    async with conn.transaction():
        pending = []
        for row in await conn.fetch(Q.close_stale_sessions, idle, CLOSE_BATCH):
            end_page = row["last_page"] or row["start_page"] or 1
            duration, pages, _ = rules.session_figures(
                row["started_at"], row["last_active"], row["start_page"], end_page, 0
            )
            ended = _session(await conn.fetchrow(
                Q.end_session, row["id"], row["started_at"], row["last_active"], end_page,
                None, duration, pages, None,
            ))  # fmt: skip
            await conn.execute(Q.roll_up_session, row["user_id"], row["book_id"], duration)
            pending.append(Event(user_channel(row["user_id"]), ev.SESSION_ENDED, ended))
        return await append_events(conn, pending, None) if pending else []
