"""Highlights: create (idempotent by client id), update, delete (tombstone), list.

Events go to the owner's channel, and to the book's channel while the highlight is
public; a highlight that stops being public is `.deleted` there."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import Conflict, Forbidden, NotFound
from domain.events import Batch, Event, append_events, book_channel, user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.patches import patch_fields
from domain.reading import rules
from domain.reading.models import (
    BookStats,
    Deleted,
    Highlight,
    HighlightCreate,
    HighlightPatch,
)
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written, read_with_heads


def _highlight(row: Any) -> Highlight:
    return msgspec.convert({k: row[k] for k in Highlight.__struct_fields__}, Highlight)


async def _count(conn: Conn, book_id: UUID, total: int, community: int) -> BookStats:
    row = await conn.fetchrow(Q.count_highlight, book_id, total, community)
    assert row is not None
    return msgspec.convert(dict(row), BookStats)


async def create(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: HighlightCreate, origin: str | None
) -> Written[Highlight]:
    rules.check_span(cmd.start_offset, cmd.end_offset)
    now = datetime.now(UTC)
    highlight = Highlight(
        id=cmd.id or uuid.uuid4(), user_id=user_id, book_id=book_id, book_chapter_id=None,
        selected_text=cmd.selected_text, word_count=rules.word_count(cmd.selected_text),
        character_count=len(cmd.selected_text), page_number=cmd.page_number,
        start_offset=cmd.start_offset, end_offset=cmd.end_offset,
        position_data=cmd.position_data, color=cmd.color, color_hex=rules.COLOR_HEX[cmd.color],
        category=cmd.category, note=cmd.note, tags=cmd.tags, public=cmd.public,
        ai_explanation=None, ai_importance_score=None, shares_count=0, device_type=None,
        created_at=now, updated_at=now,
    )  # fmt: skip
    pending = [Event(user_channel(user_id), ev.HIGHLIGHT_CREATED, highlight)]
    if highlight.public:
        pending += [
            Event(book_channel(book_id), ev.HIGHLIGHT_CREATED, highlight),
            Event(book_channel(book_id), ev.BOOK_STATS, None),  # filled in by the statement
        ]
    channels, names, datas = Batch.of(pending).args()
    try:
        place, *rows = await conn.fetch(
            Q.create_highlight,
            highlight.id, user_id, book_id, highlight.selected_text, highlight.word_count,
            highlight.character_count, highlight.page_number, highlight.start_offset,
            highlight.end_offset, highlight.position_data, highlight.color, highlight.color_hex,
            highlight.category, highlight.note, highlight.tags, highlight.public, now,
            channels, names,
            [None if e.event == ev.BOOK_STATS else d for e, d in zip(pending, datas, strict=True)],
            origin,
        )  # fmt: skip
    except asyncpg.ForeignKeyViolationError:  # the book went away meanwhile
        raise NotFound("no such book") from None
    if not place["allowed"]:
        raise NotFound("no such book")
    if not rows:
        return Written(await _existing(conn, cmd.id, user_id), created=False)
    highlight.book_chapter_id = place["chapter_id"]
    if highlight.public:
        stats = BookStats(
            book_id=book_id,
            community_highlights_count=rows[0]["community_highlights_count"],
            total_highlights=rows[0]["total_highlights"],
        )
        pending[-1] = Event(pending[-1].channel, ev.BOOK_STATS, stats)
    # encoded again now that the chapter is known: what is published matches the log
    return Written(highlight, Batch.of(pending).stored(rows, origin))


async def _existing(conn: Conn, highlight_id: UUID | None, user_id: UUID) -> Highlight:
    """A create that found its client id taken: a retry by the same user gets the
    object back; another user's id is a conflict."""
    row = await conn.fetchrow(Q.highlight_by_id, highlight_id)
    if row is None or row["user_id"] != user_id:
        raise Conflict("that id is already in use", field="id")
    return _highlight(row)


async def _own_for_update(conn: Conn, highlight_id: UUID, user_id: UUID) -> Highlight:
    row = await conn.fetchrow(Q.highlight_for_update, highlight_id)
    if row is None or (row["user_id"] != user_id and not row["public"]):
        raise NotFound("no such highlight")
    if row["user_id"] != user_id:
        raise Forbidden("not your highlight")
    return _highlight(row)


async def update(
    conn: Conn, user_id: UUID, highlight_id: UUID, patch: HighlightPatch, origin: str | None
) -> Written[Highlight]:
    given, value = patch_fields(patch)

    async with conn.transaction():
        before = await _own_for_update(conn, highlight_id, user_id)
        color = value("color")
        row = await conn.fetchrow(
            Q.update_highlight,
            highlight_id,
            color,
            rules.COLOR_HEX[color] if color else None,
            given("category"),
            value("category"),
            given("note"),
            value("note"),
            value("tags"),
            value("public"),
            value("position_data"),
        )
        after = _highlight(row)
        pending = [Event(user_channel(user_id), ev.HIGHLIGHT_UPDATED, after)]
        book = book_channel(after.book_id)
        if before.public and after.public:
            pending.append(Event(book, ev.HIGHLIGHT_UPDATED, after))
        elif before.public != after.public:
            stats = await _count(conn, after.book_id, 0, 1 if after.public else -1)
            # for the book's readers it appears or disappears
            shown = (
                Event(book, ev.HIGHLIGHT_CREATED, after)
                if after.public
                else Event(book, ev.HIGHLIGHT_DELETED, Deleted(after.id))
            )
            pending += [shown, Event(book, ev.BOOK_STATS, stats)]
        return Written(after, await append_events(conn, pending, origin))


async def delete(
    conn: Conn, user_id: UUID, highlight_id: UUID, origin: str | None
) -> Written[Deleted]:
    async with conn.transaction():
        before = await _own_for_update(conn, highlight_id, user_id)
        await conn.execute(Q.tombstone_highlight, highlight_id)
        gone = Deleted(highlight_id)
        stats = await _count(conn, before.book_id, -1, -1 if before.public else 0)
        pending = [Event(user_channel(user_id), ev.HIGHLIGHT_DELETED, gone)]
        if before.public:
            book = book_channel(before.book_id)
            pending += [Event(book, ev.HIGHLIGHT_DELETED, gone), Event(book, ev.BOOK_STATS, stats)]
        return Written(gone, await append_events(conn, pending, origin))


async def list_for_book(
    conn: Conn,
    user_id: UUID,
    book_id: UUID,
    *,
    public: bool,
    cursor: str | None,
    limit: int,
) -> tuple[Page[Highlight], dict[str, int]]:
    """The caller's own highlights on the book, or (public) everyone's public ones, with
    the head of the channel that reports on them."""
    await readable_book(conn, book_id, user_id)
    after = decode_cursor(cursor)
    stamp, last_id = after if after else (None, None)

    async def read() -> Page[Highlight]:
        if public:
            rows = await conn.fetch(Q.public_highlights, book_id, stamp, last_id, limit + 1)
        else:
            rows = await conn.fetch(Q.own_highlights, user_id, book_id, stamp, last_id, limit + 1)
        return page_of([_highlight(r) for r in rows], limit, lambda h: (h.created_at, h.id))

    channel = book_channel(book_id) if public else user_channel(user_id)
    return await read_with_heads(conn, [channel], read)
