"""Reading sessions: started on a device, ended with the pages and words read; the server
computes duration and speed, and rolls each finished session into reading progress."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import NotFound
from domain.events import Event, StoredEvent, append_group_events, user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.reading import rules
from domain.reading.models import ReadingSession, ReadingState, SessionEnd, SessionStart
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written, create_group, only, settle_creates, with_events

# a session no device has ended is closed once nothing happened in it for this long
SESSION_IDLE = timedelta(minutes=30)
CLOSE_BATCH = 500


def _session(row: Any) -> ReadingSession:
    return msgspec.convert({k: row[k] for k in ReadingSession.__struct_fields__}, ReadingSession)


@dataclass(frozen=True, slots=True)
class NewSession:
    """A start ready to store: its id (the client's, or a new one), whose, on which book,
    what was asked, and who asked (the origin)."""

    id: UUID
    user_id: UUID
    book_id: UUID
    cmd: SessionStart
    origin: str | None


class _Start(msgspec.Struct):
    """One start as `start_sessions` reads it."""

    n: int
    id: UUID
    user_id: UUID
    book_id: UUID
    start_page: int | None
    device_type: str | None
    platform: str | None


def new_session(user_id: UUID, book_id: UUID, cmd: SessionStart, origin: str | None) -> NewSession:
    return NewSession(cmd.id or uuid.uuid4(), user_id, book_id, cmd, origin)


async def start(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: SessionStart, origin: str | None
) -> Written[ReadingSession]:
    return only(await start_many(conn, [new_session(user_id, book_id, cmd, origin)]))


async def start_many(
    conn: Conn, news: list[NewSession]
) -> list[Written[ReadingSession] | Exception]:
    """Group commit: the starts of many devices in one transaction (their ids locked, the
    sessions, their events), whatever the group's size."""
    return await create_group(conn, news, lambda new: new.id, _start)


async def _start(conn: Conn, group: list[NewSession]) -> list[Written[ReadingSession] | Exception]:
    inputs = [
        _Start(n, new.id, new.user_id, new.book_id, new.cmd.start_page, new.cmd.device_type,
               new.cmd.platform)
        for n, new in enumerate(group)
    ]  # fmt: skip

    def made(new: NewSession, row: Any) -> tuple[ReadingSession, list[Event]]:
        session = _session(row)
        return session, [Event(user_channel(new.user_id), ev.SESSION_STARTED, session)]

    async with conn.transaction():
        await conn.execute(Q.lock_session_ids, [str(new.id) for new in group])
        return await settle_creates(
            conn, group, await conn.fetch(Q.start_sessions, inputs),
            refused=lambda row: None if row["allowed"] else NotFound("no such book"),
            made=made, by_id=Q.session_by_id, convert=_session,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Ending:
    """A device ending a session: which, whose, with what, and who asked (the origin)."""

    session_id: UUID
    user_id: UUID
    cmd: SessionEnd
    origin: str | None


class _End(msgspec.Struct):
    """One end as `end_sessions` reads it, its figures computed."""

    session_id: UUID
    session_started_at: datetime
    reader: UUID
    book: UUID
    at: datetime
    last_page: int
    words: int | None
    duration: int
    pages: int
    wpm: float | None


def _ending(row: Any, at: datetime, last_page: int, words: int | None) -> _End:
    duration, pages, wpm = rules.session_figures(
        row["started_at"], at, row["start_page"], last_page, words or 0
    )
    return _End(row["id"], row["started_at"], row["user_id"], row["book_id"], at, last_page,
                words, duration, pages, wpm)  # fmt: skip


async def _finish(conn: Conn, ends: list[_End]) -> dict[UUID, ReadingSession]:
    """End these locked sessions and roll them into their readers' progress."""
    if not ends:
        return {}
    return {r["id"]: _session(r) for r in await conn.fetch(Q.end_sessions, ends)}


async def end(
    conn: Conn, user_id: UUID, session_id: UUID, cmd: SessionEnd, origin: str | None
) -> Written[ReadingSession]:
    return only(await end_many(conn, [Ending(session_id, user_id, cmd, origin)]))


async def end_many(conn: Conn, endings: list[Ending]) -> list[Written[ReadingSession] | Exception]:
    """Group commit: the ends of many devices in one transaction (their sessions locked in
    id order, ended and rolled into progress in one statement, then their events). A
    retried end changes nothing and gets the session as it was ended."""
    return await create_group(conn, endings, lambda e: e.session_id, _end)


async def _end(conn: Conn, group: list[Ending]) -> list[Written[ReadingSession] | Exception]:
    async with conn.transaction():
        rows = await conn.fetch(Q.sessions_for_update, [e.session_id for e in group])
        locked = {r["id"]: r for r in rows}
        at = datetime.now(UTC)
        ended = await _finish(conn, [
            _ending(row, at, e.cmd.end_page, e.cmd.words_read)
            for e in group
            if (row := _open(locked, e)) is not None
        ])  # fmt: skip
        outcomes: list[Written[ReadingSession] | Exception] = []
        pending: list[tuple[int, list[Event], str | None]] = []
        for e in group:
            row = locked.get(e.session_id)
            if row is None or row["user_id"] != e.user_id:
                outcomes.append(NotFound("no such session"))
            elif e.session_id not in ended:  # a retried end changes nothing
                outcomes.append(Written(_session(row), created=False))
            else:
                session = ended[e.session_id]
                event = Event(user_channel(e.user_id), ev.SESSION_ENDED, session)
                pending.append((len(outcomes), [event], e.origin))
                outcomes.append(Written(session))
        return await with_events(conn, outcomes, pending)


def _open(locked: dict[UUID, Any], e: Ending) -> Any:
    """The locked row of the reader's session that `e` ends, while it is still open."""
    row = locked.get(e.session_id)
    if row is None or row["user_id"] != e.user_id or row["ended_at"] is not None:
        return None
    return row


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
        ends = [
            _ending(row, row["last_active"], row["last_page"] or row["start_page"] or 1, None)
            for row in await conn.fetch(Q.close_stale_sessions, idle, CLOSE_BATCH)
        ]
        ended = await _finish(conn, ends)
        pending = [
            (Event(user_channel(e.reader), ev.SESSION_ENDED, ended[e.session_id]), None)
            for e in ends
        ]
        return await append_group_events(conn, pending)
