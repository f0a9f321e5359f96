"""Annotations (text, voice, drawing, ai_insight) with their plain text for search.

Events go to the owner's channel, and to the book's while the annotation is public."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import Invalid, NotFound
from domain.events import (
    Event,
    book_channel,
    redact,
    user_channel,
)
from domain.pagination import Page, decode_cursor, page_of
from domain.patches import patched
from domain.reading import changes, rules
from domain.reading.changes import Change, Kind, book_events, locked_row
from domain.reading.models import Annotation, AnnotationCreate, AnnotationPatch, Deleted
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written, create_group, only, read_with_heads, settle_creates


def annotation_from_row(row: Any) -> Annotation:
    return msgspec.convert({k: row[k] for k in Annotation.__struct_fields__}, Annotation)


async def _withdraw(conn: Conn, annotation: Annotation) -> None:
    """The annotation stops being public: the book channel's events that carried it are
    redacted, so a later replay never shows it."""
    await redact(conn, book_channel(annotation.book_id), annotation.id,
                 [ev.ANNOTATION_CREATED, ev.ANNOTATION_UPDATED])  # fmt: skip


def _check_kind(kind: str, content: str | None, drawing: object) -> None:
    """Text and AI notes are their content; only a drawing holds strokes."""
    if kind in ("text", "ai_insight") and not content:
        raise Invalid(f"a {kind} annotation needs its content", field="content")
    if drawing is not None and kind != "drawing":
        raise Invalid("only a drawing annotation holds drawing_data", field="drawing_data")


@dataclass(frozen=True, slots=True)
class NewAnnotation:
    """A create checked and ready to store: its id and writer, its row as
    `create_annotations` reads it (less its number in the group), and who asked (the
    origin)."""

    id: UUID
    user_id: UUID
    row: dict[str, Any]
    origin: str | None


def new_annotation(
    user_id: UUID, book_id: UUID, cmd: AnnotationCreate, origin: str | None
) -> NewAnnotation:
    _check_kind(cmd.annotation_type, cmd.content, cmd.drawing_data)
    plain = rules.plain_text(cmd.annotation_type, cmd.content, cmd.audio_transcript)
    annotation_id = cmd.id or uuid.uuid4()
    row = {
        "id": annotation_id, "user_id": user_id, "book_id": book_id,
        "highlight_id": cmd.highlight_id, "bookmark_id": cmd.bookmark_id,
        "annotation_type": cmd.annotation_type, "content": cmd.content,
        "plain_text_content": plain, "page_number": cmd.page_number,
        "position_data": cmd.position_data, "attached_text": cmd.attached_text,
        "audio_transcript": cmd.audio_transcript, "drawing_data": cmd.drawing_data,
        "tags": cmd.tags, "word_count": rules.word_count(plain), "public": cmd.public,
    }  # fmt: skip
    return NewAnnotation(annotation_id, user_id, row, origin)


async def create(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: AnnotationCreate, origin: str | None
) -> Written[Annotation]:
    return only(await create_many(conn, [new_annotation(user_id, book_id, cmd, origin)]))


async def create_many(
    conn: Conn, news: list[NewAnnotation]
) -> list[Written[Annotation] | Exception]:
    """Group commit: the creates of many devices in one transaction of two statements
    (the rows, then all their events), whatever the group's size."""
    return await create_group(conn, news, lambda new: new.id, _store)


def _refused(row: Any) -> Exception | None:
    if not row["allowed"]:
        return NotFound("no such book")
    if not row["linked"]:
        return NotFound("no such highlight or bookmark on this book")
    return None


def _made(new: NewAnnotation, row: Any) -> tuple[Annotation, list[Event]]:
    annotation = annotation_from_row(row)
    mine = Event(user_channel(new.user_id), ev.ANNOTATION_CREATED, annotation)
    return annotation, [mine, *book_events(KIND, annotation, was=False, now=annotation.public)]


async def _store(conn: Conn, group: list[NewAnnotation]) -> list[Written[Annotation] | Exception]:
    inputs = [{"n": n, **new.row} for n, new in enumerate(group)]
    async with conn.transaction():
        return await settle_creates(
            conn, group, await conn.fetch(Q.create_annotations, inputs), refused=_refused,
            made=_made, by_id=Q.annotation_by_id, convert=annotation_from_row,
        )  # fmt: skip


async def own_for_update(conn: Conn, annotation_id: UUID, user_id: UUID) -> Annotation:
    return annotation_from_row(await locked_row(conn, KIND, annotation_id, user_id))


def _columns(before: Annotation, patch: AnnotationPatch) -> dict[str, Any]:
    after = patched(before, patch)
    _check_kind(after.annotation_type, after.content, after.drawing_data)
    plain = rules.plain_text(after.annotation_type, after.content, after.audio_transcript)
    return {"content": after.content, "plain_text_content": plain,
            "word_count": rules.word_count(plain), "page_number": after.page_number,
            "tags": after.tags, "public": after.public, "position_data": after.position_data,
            "audio_transcript": after.audio_transcript,
            "drawing_data": after.drawing_data}  # fmt: skip


KIND = Kind(
    noun="annotation",
    lock=Q.annotations_for_change,
    tombstone=Q.tombstone_annotations,
    untombstone=Q.untombstone_annotations,
    created=ev.ANNOTATION_CREATED,
    updated=ev.ANNOTATION_UPDATED,
    deleted=ev.ANNOTATION_DELETED,
    read=annotation_from_row,
    columns=_columns,
    update=Q.update_annotations,
    public=lambda a: a.public,
    withdraw=_withdraw,
)


async def update(
    conn: Conn, user_id: UUID, annotation_id: UUID, patch: AnnotationPatch, origin: str | None
) -> Written[Annotation]:
    return await changes.change(conn, Change(KIND, "update", annotation_id, user_id, origin, patch))


async def delete(
    conn: Conn, user_id: UUID, annotation_id: UUID, origin: str | None
) -> Written[Deleted]:
    return await changes.change(conn, Change(KIND, "delete", annotation_id, user_id, origin))


async def list_for_book(
    conn: Conn,
    user_id: UUID,
    book_id: UUID,
    *,
    query: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[Page[Annotation], dict[str, int]]:
    """The caller's annotations on the book; `query` searches their plain text."""
    await readable_book(conn, book_id, user_id)
    after = decode_cursor(cursor)
    stamp, last_id = after if after else (None, None)

    async def read() -> Page[Annotation]:
        rows = await conn.fetch(
            Q.own_annotations, user_id, book_id, query or None, stamp, last_id, limit + 1
        )
        return page_of(
            [annotation_from_row(r) for r in rows], limit, lambda a: (a.created_at, a.id)
        )

    return await read_with_heads(conn, [user_channel(user_id)], read)


async def restore(
    conn: Conn, user_id: UUID, annotation_id: UUID, origin: str | None
) -> Written[Annotation]:
    """Undo a delete (`annotation.created` again, on the book's channel too if public)."""
    return await changes.change(conn, Change(KIND, "restore", annotation_id, user_id, origin))
