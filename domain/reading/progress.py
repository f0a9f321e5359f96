"""Reading progress across devices: the latest position (last write wins, in server
order), the furthest ever reached (never moves back unless reset for a re-read), and
each device's own last position."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import DomainError, Invalid, NotFound
from domain.events import StoredEvent, user_channel
from domain.reading import rules
from domain.reading.models import Progress, ProgressUpdate, ProgressView
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written, only, read_with_heads


async def update(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: ProgressUpdate, origin: str | None
) -> Written[Progress]:
    """One update on its own (a group of one)."""
    return only([await _alone(conn, ProgressWrite(user_id, book_id, cmd, origin))])


@dataclass(frozen=True, slots=True)
class ProgressWrite:
    """One `progress.update` waiting for its group (`update_many`)."""

    user_id: UUID
    book_id: UUID
    cmd: ProgressUpdate
    origin: str | None
    # a statement (SQL, arguments) committed with the update or not at all: KOReader's
    # own position string, kept beside BookMind's (domain/kosync)
    with_it: tuple[str, tuple[Any, ...]] | None = None


_encode = msgspec.json.Encoder().encode


class _Input(msgspec.Struct):
    """One update as `update_progresses` reads it."""

    n: int
    user_id: UUID
    book_id: UUID
    current_page: int | None
    current_character_offset: int | None
    progress_percentage: float | None
    position_data: Any
    device: str
    updated_at: datetime
    channel: str
    data: msgspec.Raw
    origin: str | None


async def update_many(
    conn: Conn, writes: list[ProgressWrite]
) -> list[Written[Progress] | Exception]:
    """Group commit (server/group_commit.py): the updates of many devices in one
    transaction and, as far as they touch different (reader, book) rows, one statement
    (`update_progresses`). A reader's later updates of the same book go in a later
    statement of the same transaction, so each is decided against the row as the one
    before it left it (latest, furthest) and their events keep their order. Each update
    has its own outcome; if the transaction fails, each update is tried alone."""
    outcomes: list[Written[Progress] | Exception | None] = [None] * len(writes)
    rounds: list[list[tuple[int, Progress]]] = []
    taken: dict[tuple[UUID, UUID], int] = {}  # (reader, book) -> rounds it is in
    for i, w in enumerate(writes):
        try:
            progress = _progress(w)
        except DomainError as exc:
            outcomes[i] = exc
            continue
        key = (w.user_id, w.book_id)
        depth = taken.get(key, 0)
        taken[key] = depth + 1
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append((i, progress))
    alone = len(rounds) <= 1 and not any(w.with_it for w in writes)
    try:
        # one statement needs no BEGIN/COMMIT round trips of its own
        async with contextlib.nullcontext() if alone else conn.transaction():
            for group in rounds:
                for i, outcome in await _store(conn, writes, group):
                    outcomes[i] = outcome
            for w, done in zip(writes, outcomes, strict=True):
                if w.with_it and isinstance(done, Written):
                    await conn.execute(w.with_it[0], *w.with_it[1])
    except asyncpg.PostgresError as exc:
        if len(writes) == 1:
            return [exc]
        return [o if isinstance(o, DomainError) else await _alone(conn, w)
                for o, w in zip(outcomes, writes, strict=True)]  # fmt: skip
    return [o if o is not None else NotFound("no such book") for o in outcomes]


async def _alone(conn: Conn, w: ProgressWrite) -> Written[Progress] | Exception:
    return (await update_many(conn, [w]))[0]


def _progress(w: ProgressWrite) -> Progress:
    device = w.cmd.device or w.origin
    if not device:
        raise Invalid("device is required", field="device")
    cmd = w.cmd
    return Progress(
        book_id=w.book_id,
        current_page=cmd.current_page,
        current_character_offset=cmd.current_character_offset,
        progress_percentage=cmd.progress_percentage,
        position_data=cmd.position_data,
        device=device,
        updated_at=datetime.now(UTC),
    )


async def _store(
    conn: Conn, writes: list[ProgressWrite], group: list[tuple[int, Progress]]
) -> list[tuple[int, Written[Progress] | Exception]]:
    inputs, datas = [], []
    for i, p in group:
        w = writes[i]
        data = _encode(p)
        datas.append(data)
        inputs.append(_Input(
            i, w.user_id, w.book_id, p.current_page, p.current_character_offset,
            p.progress_percentage, p.position_data, p.device or "", p.updated_at,
            user_channel(w.user_id), msgspec.Raw(data), w.origin,
        ))  # fmt: skip
    rows = await conn.fetch(Q.update_progresses, inputs, rules.COMPLETION_THRESHOLD,
                            ev.PROGRESS_UPDATED)  # fmt: skip
    outcomes: list[tuple[int, Written[Progress] | Exception]] = []
    for (i, p), data, row in zip(group, datas, rows, strict=True):
        if row["seq"] is None:  # nothing written: the book is not one this reader may read
            outcomes.append((i, NotFound("no such book")))
            continue
        origin = writes[i].origin
        stored = StoredEvent(user_channel(writes[i].user_id), row["seq"], ev.PROGRESS_UPDATED,
                             msgspec.Raw(data), row["created_at"], origin)  # fmt: skip
        outcomes.append((i, Written(p, [stored])))
    return outcomes


def _view(book_id: UUID, row: Any, devices: list[Any]) -> ProgressView:
    if row is None or row["last_read_at"] is None:
        return ProgressView(latest=None, furthest=None, devices=[])
    latest = Progress(
        book_id=book_id,
        current_page=row["current_page"],
        current_character_offset=row["current_character_offset"],
        progress_percentage=row["progress_percentage"],
        position_data=row["position_data"],
        device=row["device"],
        updated_at=row["last_read_at"],
    )
    furthest = Progress(
        book_id=book_id,
        current_page=row["furthest_page"],
        current_character_offset=row["furthest_character_offset"],
        progress_percentage=row["furthest_percentage"],
        position_data=row["furthest_position_data"],
        device=None,
        updated_at=row["furthest_at"],
    )
    return ProgressView(
        latest=latest, furthest=furthest, devices=[Progress(**dict(d)) for d in devices]
    )


async def view(conn: Conn, user_id: UUID, book_id: UUID) -> tuple[ProgressView, dict[str, int]]:
    await readable_book(conn, book_id, user_id)

    async def read() -> ProgressView:
        row = await conn.fetchrow(Q.progress_row, user_id, book_id)
        devices = await conn.fetch(Q.device_positions, user_id, book_id)
        return _view(book_id, row, devices)

    return await read_with_heads(conn, [user_channel(user_id)], read)


async def reset_furthest(conn: Conn, user_id: UUID, book_id: UUID) -> ProgressView:
    """Start a re-read: the furthest position becomes the latest one."""
    await readable_book(conn, book_id, user_id)
    await conn.execute(Q.reset_furthest, user_id, book_id)
    return (await view(conn, user_id, book_id))[0]


async def furthest_offset(
    conn: Conn, user_id: UUID, book_id: UUID
) -> tuple[int | None, float | None]:
    """The furthest character offset and fraction this reader reached (spoiler limit)."""
    row = await conn.fetchrow(Q.furthest, user_id, book_id)
    if row is None:
        return None, None
    return row["furthest_character_offset"], row["furthest_percentage"]
