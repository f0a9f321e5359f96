"""Reading progress across devices: the latest position (last write wins, in server
order), the furthest ever reached (never moves back unless reset for a re-read), and
each device's own last position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import DomainError, Invalid, NotFound
from domain.events import Batch, Event, user_channel
from domain.reading import rules
from domain.reading.models import Progress, ProgressUpdate, ProgressView
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written, read_with_heads


async def update(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: ProgressUpdate, origin: str | None
) -> Written[Progress]:
    device = cmd.device or origin
    if not device:
        raise Invalid("device is required", field="device")
    progress = Progress(
        book_id=book_id,
        current_page=cmd.current_page,
        current_character_offset=cmd.current_character_offset,
        progress_percentage=cmd.progress_percentage,
        position_data=cmd.position_data,
        device=device,
        updated_at=datetime.now(UTC),
    )
    batch = Batch.of([Event(user_channel(user_id), ev.PROGRESS_UPDATED, progress)])
    rows = await conn.fetch(
        Q.update_progress, user_id, book_id, cmd.current_page, cmd.current_character_offset,
        cmd.progress_percentage, cmd.position_data, device, progress.updated_at,
        rules.COMPLETION_THRESHOLD, *batch.args(), origin,
    )  # fmt: skip
    if not rows:  # nothing written: the book is not one this reader may read
        raise NotFound("no such book")
    return Written(progress, batch.stored(rows, origin))


@dataclass(frozen=True, slots=True)
class ProgressWrite:
    """One `progress.update` waiting for its group (`update_many`)."""

    user_id: UUID
    book_id: UUID
    cmd: ProgressUpdate
    origin: str | None


async def update_many(
    conn: Conn, writes: list[ProgressWrite]
) -> list[Written[Progress] | Exception]:
    """Group commit (server/group_commit.py): the updates of many devices in one
    transaction, so they share one commit and one flush of the log. Each keeps its own
    statement, run in arrival order for a given book, so an update is decided against
    the row as the one before it left it (latest, furthest). The group is taken in
    (user, book) order, the order every group takes its rows and channel heads in; one
    group runs at a time (two could still cross on one reader's two books). Each update
    has its own outcome; if the transaction fails, each update is tried alone."""
    if len(writes) == 1:
        return [await _alone(conn, writes[0])]
    order = sorted(range(len(writes)), key=lambda i: (writes[i].user_id, writes[i].book_id))
    outcomes: list[Written[Progress] | Exception] = [NotFound("no such book")] * len(writes)
    try:
        async with conn.transaction():
            for i in order:
                w = writes[i]
                try:
                    outcomes[i] = await update(conn, w.user_id, w.book_id, w.cmd, w.origin)
                except DomainError as exc:
                    outcomes[i] = exc
    except asyncpg.PostgresError:
        return [await _alone(conn, w) for w in writes]
    return outcomes


async def _alone(conn: Conn, w: ProgressWrite) -> Written[Progress] | Exception:
    try:
        return await update(conn, w.user_id, w.book_id, w.cmd, w.origin)
    except (DomainError, asyncpg.PostgresError) as exc:
        return exc


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
