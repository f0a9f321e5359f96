"""Voice notes and pictures attached to annotations: stored in the file store, recorded
in `annotation_media`, served back to whoever may see the annotation."""

from __future__ import annotations

import asyncio
from uuid import UUID

from domain import events as ev
from domain.books.access import shown_to
from domain.errors import Invalid, NotFound, TooLarge
from domain.events import Event, append_events, user_channel
from domain.ports import FileStore
from domain.reading import media_files
from domain.reading.annotations import KIND, annotation_from_row, own_for_update
from domain.reading.changes import book_events
from domain.reading.models import Annotation
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written

MAX_AUDIO_BYTES = 10 * 1024 * 1024  # about 40 minutes of Opus at 32 kbit/s
MAX_IMAGE_BYTES = 8 * 1024 * 1024
ORPHAN_BATCH = 500


def media_prefix(annotation_id: UUID) -> str:
    return f"annotations/{annotation_id}/"


def media_key(annotation_id: UUID, kind: str) -> str:
    return media_prefix(annotation_id) + kind


def media_url(annotation_id: UUID, kind: str) -> str:
    return f"/api/v1/annotations/{annotation_id}/{kind}"


def _bounded(data: bytes, limit: int, what: str) -> None:
    if not data:
        raise Invalid(f"the {what} is empty", field="file")
    if len(data) > limit:
        raise TooLarge(f"a {what} is at most {limit // (1024 * 1024)} MiB")


async def attach_audio(
    conn: Conn, files: FileStore, user_id: UUID, annotation_id: UUID, data: bytes,
    origin: str | None,
) -> Written[Annotation]:  # fmt: skip
    """A voice note's recording: its type and length read from its bytes (in a thread),
    then stored; a new recording replaces the old one."""
    _bounded(data, MAX_AUDIO_BYTES, "recording")
    kind = media_files.audio_type(data)
    seconds = await asyncio.to_thread(media_files.audio_seconds, data, kind)
    async with conn.transaction():
        before = await own_for_update(conn, annotation_id, user_id)
        if before.annotation_type != "voice":
            raise Invalid("only a voice note holds a recording", field="annotation_type")
        await _store(conn, files, annotation_id, "audio", data, kind)
        row = await conn.fetchrow(Q.set_annotation_audio, annotation_id,
                                  media_url(annotation_id, "audio"), seconds)  # fmt: skip
        return await _changed(conn, user_id, before.public, annotation_from_row(row), origin)


async def attach_image(
    conn: Conn, files: FileStore, user_id: UUID, annotation_id: UUID, data: bytes,
    origin: str | None,
) -> Written[Annotation]:  # fmt: skip
    """A picture on any annotation, re-encoded without its metadata (in a thread)."""
    _bounded(data, MAX_IMAGE_BYTES, "picture")
    image, kind = await asyncio.to_thread(media_files.normalized_image, data)
    async with conn.transaction():
        before = await own_for_update(conn, annotation_id, user_id)
        await _store(conn, files, annotation_id, "image", image, kind)
        row = await conn.fetchrow(Q.set_annotation_image, annotation_id,
                                  media_url(annotation_id, "image"))  # fmt: skip
        return await _changed(conn, user_id, before.public, annotation_from_row(row), origin)


async def _store(
    conn: Conn, files: FileStore, annotation_id: UUID, kind: str, data: bytes, media_type: str
) -> None:
    """Recorded first, then written, in the caller's transaction: a file never exists
    without the record that lets the schedule remove it."""
    key = media_key(annotation_id, kind)
    await conn.execute(Q.record_media, key, annotation_id, kind, media_type, len(data))
    await files.put(key, data, media_type)


async def _changed(
    conn: Conn, user_id: UUID, was_public: bool, after: Annotation, origin: str | None
) -> Written[Annotation]:
    pending = [Event(user_channel(user_id), ev.ANNOTATION_UPDATED, after)]
    pending += book_events(KIND, after, was=was_public, now=after.public)
    return Written(after, await append_events(conn, pending, origin))


async def media(
    conn: Conn, files: FileStore, user_id: UUID, annotation_id: UUID, kind: str
) -> tuple[bytes, str]:
    """The file and its type, for the annotation's reader, or anyone when it is public
    on a book they may read; 404 otherwise, as for the annotation."""
    row = await conn.fetchrow(Q.annotation_by_id, annotation_id)
    if (
        row is None
        or row["deleted_at"] is not None
        or (row["user_id"] != user_id and not await shown_to(conn, row, user_id))
    ):
        raise NotFound("no such annotation")
    stored = await conn.fetchrow(Q.media_of, annotation_id, kind)
    if stored is None:
        raise NotFound(f"this annotation has no {kind}")
    try:
        return await files.get(stored["key"]), stored["content_type"]
    except FileNotFoundError:
        raise NotFound(f"this annotation has no {kind}") from None


async def remove_orphans(conn: Conn, files: FileStore) -> int:
    """Delete the files of annotations that are gone (a batch at a time), then their
    records: a failure leaves a record to try again, never a file nobody knows of."""
    removed = 0
    while rows := await conn.fetch(Q.orphaned_media, ORPHAN_BATCH):
        for annotation_id in {r["annotation_id"] for r in rows}:
            await files.delete_prefix(media_prefix(annotation_id))
        await conn.execute(Q.forget_media, [r["key"] for r in rows])
        removed += len(rows)
    return removed
