"""kosync's two operations on BookMind's reading progress (positions.py maps them).

A PUT is a `progress.update` from one more device (the KOReader device, named by its
`device` and the start of its `device_id`): committed with its event on the reader's
channel, counted in latest, furthest and devices. KOReader's own `progress` string is
kept beside it byte for byte, also for a document the reader has not uploaded yet (it
is applied when that file is read). A GET answers the reader's latest position from any
device: KOReader's own string when the latest is KOReader's, else BookMind's position
mapped into one KOReader can open."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.kosync import positions, spine
from domain.ports import FileStore
from domain.reading import progress
from domain.reading.models import Progress, ProgressUpdate
from domain.sql import Conn, load_queries
from domain.writes import Written

Q = load_queries(__file__)
DEVICE_NAME_CHARS = 64
# in the `device_id` of positions from BookMind's own devices: never a KOReader device's
BOOKMIND_DEVICE_ID = "bookmind"


class DeviceProgress(msgspec.Struct, kw_only=True):
    """A KOReader PUT, checked."""

    document: str
    progress: str
    percentage: float
    device: str
    device_id: str | None


def device_name(device: str, device_id: str | None) -> str:
    """BookMind's name for a KOReader device: its model, told apart from another of the
    same model by the start of its id."""
    suffix = f" ({device_id[:6]})" if device_id else ""
    return device[: DEVICE_NAME_CHARS - len(suffix)] + suffix


async def _spans(conn: Conn, book_id: UUID) -> list[positions.ChapterSpan]:
    rows = await conn.fetch(Q.chapter_spans, book_id)
    return [positions.ChapterSpan(r["start_offset"] or 0, r["end_offset"] or 0,
                                  r["start_page"] or 1, r["end_page"] or 1, r["source_index"])
            for r in rows]  # fmt: skip


async def _position(
    conn: Conn, files: FileStore, book: Any, put: DeviceProgress
) -> positions.Position:
    chapters = await _spans(conn, book["id"])
    passage, resolved = None, None
    page = positions.PAGE.match(put.progress)
    if book["file_type"] == "pdf" and page:
        row = await conn.fetchrow(Q.passage_with_page, book["id"], int(page.group(1)))
        passage = positions.PassageSpan(*row) if row else None
    elif book["file_type"] == "epub":
        resolved = await spine.offset_of(conn, files, book, chapters, put.progress)
    return positions.from_koreader(book["file_type"], put.progress, put.percentage, chapters,
                                   passage, resolved)  # fmt: skip


def _command(put: DeviceProgress, at: positions.Position) -> ProgressUpdate:
    return ProgressUpdate(
        current_page=at.page, progress_percentage=at.fraction,
        current_character_offset=at.offset,
        position_data={"koreader": {"progress": put.progress, "percentage": put.percentage,
                                    "document": put.document}},
        device=device_name(put.device, put.device_id),
    )  # fmt: skip


async def put(
    conn: Conn, files: FileStore, user_id: UUID, body: DeviceProgress
) -> tuple[int, progress.ProgressWrite | None]:
    """Place a KOReader device's position; returns the server's timestamp (Unix seconds)
    and, for a document in the library, the progress write to commit: it goes with every
    device's progress updates (group commit, `progress.update_many`) and stores
    KOReader's own string in the same transaction. A document not in the library yet
    has only its string, stored here."""
    now = datetime.now(UTC)
    args = (user_id, body.document, body.progress, body.percentage, body.device,
            body.device_id, now)  # fmt: skip
    saved = (Q.save_device_progress, args)
    book = await conn.fetchrow(Q.book_for_document, user_id, body.document)
    at = await _position(conn, files, book, body) if book else None
    if book is None or at is None:
        await conn.execute(saved[0], *saved[1])
        return int(now.timestamp()), None
    cmd = _command(body, at)
    return int(now.timestamp()), progress.ProgressWrite(user_id, book["id"], cmd, cmd.device,
                                                        with_it=saved)  # fmt: skip


async def get(conn: Conn, files: FileStore, user_id: UUID, document: str) -> dict[str, Any]:
    """What KOReader's GET /syncs/progress/{document} answers ({} when nothing)."""
    stored = await conn.fetchrow(Q.device_progress, user_id, document)
    book = await conn.fetchrow(Q.book_for_document, user_id, document)
    latest = (await progress.view(conn, user_id, book["id"]))[0].latest if book else None
    if stored is not None and (
        latest is None
        or latest.device == device_name(stored["device"], stored["device_id"])
        or stored["updated_at"] >= latest.updated_at
    ):  # the latest is this KOReader document's own: its string, as it sent it
        return {
            "document": document, "progress": stored["progress"],
            "percentage": stored["percentage"], "device": stored["device"],
            "device_id": stored["device_id"], "timestamp": int(stored["updated_at"].timestamp()),
        }  # fmt: skip
    if latest is None or book is None:
        return {}
    chapters = await _spans(conn, book["id"])
    offset = latest.current_character_offset
    if offset is None:  # a device that sends only fractions
        offset = int(
            (latest.progress_percentage or 0) * (chapters[-1].end_offset if chapters else 0)
        )
    pointer = None
    if book["file_type"] == "epub":
        pointer = await spine.progress_at(conn, files, book, chapters, offset)
    return {
        "document": document,
        "progress": pointer
        or positions.to_koreader(book["file_type"], offset, latest.current_page, chapters),
        "percentage": latest.progress_percentage or 0.0,
        "device": latest.device or "BookMind",
        "device_id": BOOKMIND_DEVICE_ID,
        "timestamp": int(latest.updated_at.timestamp()),
    }


async def link_book(conn: Conn, files: FileStore, book_id: UUID) -> Written[Progress] | None:
    """A book just read whose file a KOReader device of its owner reported a position on
    before the upload: that position becomes the book's, as if the device sent it now."""
    row = await conn.fetchrow(Q.progress_before_book, book_id)
    if row is None:
        return None
    put = DeviceProgress(document=row["document"], progress=row["progress"],
                         percentage=row["percentage"], device=row["device"],
                         device_id=row["device_id"])  # fmt: skip
    cmd = _command(put, await _position(conn, files, row, put))
    return await progress.update(conn, row["user_id"], row["id"], cmd, cmd.device)
