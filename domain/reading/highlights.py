"""Highlights: create (idempotent by client id), update, delete (tombstone), list.

Events go to the owner's channel, and to the book's channel while the highlight is
public; a highlight that stops being public is `.deleted` there."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.channels import book_of
from domain.errors import DomainError, NotFound
from domain.events import (
    Batch,
    Event,
    StoredEvent,
    append_events,
    book_channel,
    redact,
    user_channel,
)
from domain.notifications import operations as notifications
from domain.pagination import Page, decode_cursor, page_of
from domain.patches import patched
from domain.reading import changes, rules
from domain.reading.changes import Change, Kind
from domain.reading.models import (
    BookStats,
    Deleted,
    Highlight,
    HighlightCreate,
    HighlightPatch,
)
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import Written, create_group, found_again, only, read_with_heads


def _highlight(row: Any) -> Highlight:
    return msgspec.convert({k: row[k] for k in Highlight.__struct_fields__}, Highlight)


def stats_changed_on(e: StoredEvent) -> UUID | None:
    """The book whose public counters `e` changed, if any: a highlight appeared on or
    left a book channel. Its `book.stats` is announced apart (`announce_stats`), at most
    a few times a second per book, not once per write: each one goes to every reader
    of the book, and during a burst of creates only the last counts matter."""
    if e.event in (ev.HIGHLIGHT_CREATED, ev.HIGHLIGHT_DELETED):
        return book_of(e.channel)
    return None


async def announce_stats(conn: Conn, book_ids: list[UUID]) -> list[StoredEvent]:
    """`book.stats` with each book's counters as committed now (a removed book gets
    none), committed before it is published like every durable event."""
    async with conn.transaction():
        rows = await conn.fetch(Q.book_counters, book_ids)
        pending = [
            Event(book_channel(r["book_id"]), ev.BOOK_STATS, msgspec.convert(dict(r), BookStats))
            for r in rows
        ]
        return await append_events(conn, pending, None)


@dataclass(frozen=True, slots=True)
class NewHighlight:
    """A create checked and ready to store: the highlight and who asked (the origin)."""

    highlight: Highlight
    origin: str | None


class _Input(msgspec.Struct):
    """One create as `create_highlights` reads it."""

    n: int
    origin: str | None
    user_channel: str
    book_channel: str
    highlight: Highlight


def new_highlight(
    user_id: UUID,
    book_id: UUID,
    cmd: HighlightCreate,
    origin: str | None,
    created_at: datetime | None = None,
) -> NewHighlight:
    """`created_at`: when it was made elsewhere (an import keeps the original date)."""
    rules.check_span(cmd.start_offset, cmd.end_offset)
    now = created_at or datetime.now(UTC)
    highlight = Highlight(
        id=cmd.id or uuid.uuid4(), user_id=user_id, book_id=book_id, book_chapter_id=None,
        selected_text=cmd.selected_text, word_count=rules.word_count(cmd.selected_text),
        character_count=len(cmd.selected_text), page_number=cmd.page_number,
        start_offset=cmd.start_offset, end_offset=cmd.end_offset,
        position_data=cmd.position_data, color=cmd.color, color_hex=rules.COLOR_HEX[cmd.color],
        category=cmd.category, note=cmd.note, tags=cmd.tags, public=cmd.public,
        ai_explanation=None, ai_importance_score=None, ai_analysis={}, shares_count=0,
        device_type=origin,
        created_at=now, updated_at=now,
    )  # fmt: skip
    return NewHighlight(highlight, origin)


async def create(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: HighlightCreate, origin: str | None
) -> Written[Highlight]:
    return only(await create_many(conn, [new_highlight(user_id, book_id, cmd, origin)]))


async def create_many(conn: Conn, news: list[NewHighlight]) -> list[Written[Highlight] | Exception]:
    """Group commit: the creates of many devices in one statement, so they share one
    round trip, one commit and one flush of the log (and PostgreSQL does each step once
    for all of them)."""
    return await create_group(conn, news, lambda new: new.highlight.id, _store)


async def _store(conn: Conn, group: list[NewHighlight]) -> list[Written[Highlight] | Exception]:
    rows = [
        _Input(n, new.origin, user_channel(new.highlight.user_id),
               book_channel(new.highlight.book_id), new.highlight)
        for n, new in enumerate(group)
    ]  # fmt: skip
    results = await conn.fetch(Q.create_highlights, rows, ev.HIGHLIGHT_CREATED)
    outcomes: list[Written[Highlight] | Exception] = []
    for new, result in zip(group, results, strict=True):
        try:
            outcomes.append(await _outcome(conn, new, result))
        except DomainError as exc:
            outcomes.append(exc)
    return outcomes


async def _outcome(conn: Conn, new: NewHighlight, result: Any) -> Written[Highlight]:
    if not result["allowed"]:
        raise NotFound("no such book")
    highlight = new.highlight
    if not result["created"]:
        again = await found_again(conn, Q.highlight_by_id, highlight.id, highlight.user_id,
                                  _highlight)  # fmt: skip
        if isinstance(again, Exception):
            raise again
        return again
    highlight = msgspec.structs.replace(highlight, book_chapter_id=result["chapter_id"])
    user, book = user_channel(highlight.user_id), book_channel(highlight.book_id)
    pending = [Event(user, ev.HIGHLIGHT_CREATED, highlight)]
    if highlight.public:
        pending.append(Event(book, ev.HIGHLIGHT_CREATED, highlight))
    # the chapter is known now: what is published matches the log
    batch = Batch.of(pending)
    return Written(
        highlight,
        [
            StoredEvent(e.channel, seq, e.event, msgspec.Raw(d), result["created_at"], new.origin)
            for e, d, seq in zip(batch.events, batch.datas, result["seqs"], strict=True)
        ],
    )


async def _withdraw(conn: Conn, highlight: Highlight) -> None:
    """The highlight stops being public: the book channel's events that carried it are
    redacted, so a later replay never shows it."""
    await redact(conn, book_channel(highlight.book_id), highlight.id,
                 [ev.HIGHLIGHT_CREATED, ev.HIGHLIGHT_UPDATED])  # fmt: skip


def _columns(before: Highlight, patch: HighlightPatch) -> dict[str, Any]:
    after = patched(before, patch)
    hex_ = rules.COLOR_HEX[after.color] if patch.color is not msgspec.UNSET else after.color_hex
    return {"color": after.color, "color_hex": hex_, "category": after.category,
            "note": after.note, "tags": after.tags, "public": after.public,
            "position_data": after.position_data}  # fmt: skip


KIND = Kind(
    noun="highlight",
    lock=Q.highlights_for_change,
    tombstone=Q.tombstone_highlights,
    untombstone=Q.untombstone_highlights,
    created=ev.HIGHLIGHT_CREATED,
    updated=ev.HIGHLIGHT_UPDATED,
    deleted=ev.HIGHLIGHT_DELETED,
    read=_highlight,
    columns=_columns,
    update=Q.update_highlights,
    public=lambda h: h.public,
    counts=lambda h: {"highlights": -1, "community": -1 if h.public else 0},
    withdraw=_withdraw,
)


async def update(
    conn: Conn, user_id: UUID, highlight_id: UUID, patch: HighlightPatch, origin: str | None
) -> Written[Highlight]:
    """A public highlight that turns private disappears for the book's readers (and its
    past events there are withdrawn); a private one made public appears."""
    return await changes.change(conn, Change(KIND, "update", highlight_id, user_id, origin, patch))


async def delete(
    conn: Conn, user_id: UUID, highlight_id: UUID, origin: str | None
) -> Written[Deleted]:
    return await changes.change(conn, Change(KIND, "delete", highlight_id, user_id, origin))


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


async def store_analyses(
    conn: Conn, scored: list[tuple[UUID, float, dict[str, Any]]]
) -> list[StoredEvent]:
    """Store the schedule's analyses; each highlight's owner hears `highlight.updated`
    (committed with the scores)."""
    payload = [{"hid": str(h), "score": s, "analysis": a} for h, s, a in scored]
    async with conn.transaction():
        analyzed = [_highlight(r) for r in await conn.fetch(Q.store_analyses, payload)]
        pending = [Event(user_channel(h.user_id), ev.HIGHLIGHT_UPDATED, h) for h in analyzed]
        central = [h for h in analyzed if (h.ai_importance_score or 0) >= SUGGEST_AT]
        willing = await notifications.who_wants_suggestions(conn, [h.user_id for h in central])
        for h in central:
            if h.user_id in willing:
                pending += await _suggest(conn, h)
        return await append_events(conn, pending, None) if pending else []


# a highlight scored this high is central to the book: its reader is offered an
# explanation (when their ai_preferences.auto_suggestions and notification preference
# ai_suggestions allow)
SUGGEST_AT = 0.6


async def _suggest(conn: Conn, h: Highlight) -> list[Event]:
    words = " ".join(h.selected_text.split())
    excerpt = words if len(words) <= 120 else words[:119] + "\u2026"
    return await notifications.notify(
        conn, h.user_id, "ai_suggestion", "A passage worth a closer look",
        f"\u201c{excerpt}\u201d is central to the book: ask BookMind to explain it.",
        {"highlight_id": str(h.id), "book_id": str(h.book_id), "feature": "explain"},
        dedupe_key=f"suggest:{h.id}",
    )  # fmt: skip


async def restore(
    conn: Conn, user_id: UUID, highlight_id: UUID, origin: str | None
) -> Written[Highlight]:
    """Undo a delete: the highlight is back as it was, announced as `highlight.created`
    where its deletion was announced."""
    return await changes.change(conn, Change(KIND, "restore", highlight_id, user_id, origin))
