"""Reading progress across devices: the latest position (last write wins, in server
order), the furthest ever reached (never moves back unless reset for a re-read), and
each device's own last position."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import Invalid
from domain.events import Event, append_events, user_channel
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
    async with conn.transaction():
        await readable_book(conn, book_id, user_id)
        # the row lock orders concurrent updates, so "furthest" never loses a race
        old = await conn.fetchrow(Q.furthest_for_update, user_id, book_id)
        further = rules.is_further(
            cmd.current_character_offset,
            cmd.progress_percentage,
            old["furthest_character_offset"] if old else None,
            old["furthest_percentage"] if old else None,
        )
        at = await conn.fetchval(
            Q.upsert_progress,
            user_id,
            book_id,
            cmd.current_page,
            cmd.current_character_offset,
            cmd.progress_percentage,
            cmd.position_data,
            device,
            further,
            rules.COMPLETION_THRESHOLD,
        )
        await conn.execute(
            Q.upsert_position,
            user_id,
            book_id,
            device,
            cmd.current_page,
            cmd.current_character_offset,
            cmd.progress_percentage,
            cmd.position_data,
        )
        progress = Progress(
            book_id=book_id,
            current_page=cmd.current_page,
            current_character_offset=cmd.current_character_offset,
            progress_percentage=cmd.progress_percentage,
            position_data=cmd.position_data,
            device=device,
            updated_at=at,
        )
        pending = [Event(user_channel(user_id), ev.PROGRESS_UPDATED, progress)]
        return Written(progress, await append_events(conn, pending, origin))


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
