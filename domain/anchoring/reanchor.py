"""When a book's text changes (its file replaced by another edition, or read again by a
better parser), every highlight, and every bookmark and note with a text position, is
looked for again by its stored quote selector (its words and the text around them,
kept by the triggers of migration 0024) and moved to where the words are now. One whose
words cannot be found surely is kept where it was and flagged `orphaned`; neither ever
lands on other words. Devices hear `*.updated` for what moved or was orphaned.

Runs in the transaction that stores the new chapters (workers/ingest.py), so readers
see the old text with the old places or the new text with the new ones."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.anchoring.quotes import Anchor, Quote, locate
from domain.anchoring.text import BookText, book_text
from domain.events import Event, StoredEvent, append_events, book_channel, user_channel
from domain.reading.models import MAX_SELECTED_CHARS, Annotation, Bookmark, Highlight
from domain.reading.sql import ANNOTATION_COLUMNS, BOOKMARK_COLUMNS, HIGHLIGHT_COLUMNS
from domain.sql import Conn, load_queries

Q = load_queries(
    __file__,
    highlight_columns=HIGHLIGHT_COLUMNS,
    bookmark_columns=BOOKMARK_COLUMNS,
    annotation_columns=ANNOTATION_COLUMNS,
)


def _hint(offset: int | None, text: BookText) -> float | None:
    return None if offset is None else min(1.0, offset / max(1, len(text.text)))


def find_all(text: BookText, marks: list[Any], places: list[Any]) -> dict[UUID, Anchor | None]:
    """Where each mark's words are in the new text (CPU work: off the event loop)."""
    found: dict[UUID, Anchor | None] = {}
    for m in marks:
        found[m["id"]] = locate(text.index, Quote(m["selected_text"], m["quote_prefix"] or "",
                                                  m["quote_suffix"] or "",
                                                  _hint(m["start_offset"], text)))  # fmt: skip
    for p in places:
        found[p["id"]] = locate(text.index, Quote(p["quote_exact"], p["quote_prefix"] or "", "",
                                                  _hint(p["offset_at"], text)))  # fmt: skip
    return found


def _struct(row: Any, kind: type[Any]) -> Any:
    return msgspec.convert({k: row[k] for k in kind.__struct_fields__}, kind)


async def reanchor(conn: Conn, book_id: UUID) -> tuple[list[StoredEvent], Counter[str]]:
    """Re-place every mark on the book in its current chapters; the events to publish
    and how many were kept, moved and orphaned."""
    marks = await conn.fetch(Q.highlights_on_book, book_id)
    places = await conn.fetch(Q.places_on_book, book_id)
    counts: Counter[str] = Counter()
    if not marks and not places:
        return [], counts
    chapters = await conn.fetch(Q.book_text, book_id)
    text = await asyncio.to_thread(book_text, "", None, chapters)
    found = await asyncio.to_thread(find_all, text, list(marks), list(places))
    pending: list[Event] = []
    for m in marks:
        anchor = found[m["id"]]
        if anchor is not None and anchor.end - anchor.start > MAX_SELECTED_CHARS:
            anchor = None
        same = anchor is not None and (anchor.start, anchor.end) == (m["start_offset"],
                                                                     m["end_offset"])  # fmt: skip
        if same and not m["orphaned"]:
            counts["kept"] += 1
            continue
        if anchor is None:
            counts["orphaned"] += 1
            if m["orphaned"]:
                continue
            row = await conn.fetchrow(Q.orphan_highlight, m["id"])
        else:
            counts["moved"] += 1
            row = await conn.fetchrow(Q.move_highlight, m["id"], anchor.start, anchor.end,
                                      text.text[anchor.start : anchor.end],
                                      text.page_at(anchor.start))  # fmt: skip
        highlight = _struct(row, Highlight)
        pending.append(Event(user_channel(m["user_id"]), ev.HIGHLIGHT_UPDATED, highlight))
        if m["public"]:
            pending.append(Event(book_channel(book_id), ev.HIGHLIGHT_UPDATED, highlight))
    for p in places:
        pending += await _replace(conn, book_id, p, found[p["id"]], text, counts)
    return await append_events(conn, pending, None), counts


async def _replace(conn: Conn, book_id: UUID, p: Any, anchor: Anchor | None, text: BookText,
                   counts: Counter[str]) -> list[Event]:  # fmt: skip
    """A bookmark or a note, moved to its words' new place or orphaned."""
    if anchor is not None and anchor.start == p["offset_at"] and not p["orphaned"]:
        counts["kept"] += 1
        return []
    bookmark = p["kind"] == "bookmark"
    if anchor is None:
        counts["orphaned"] += 1
        if p["orphaned"]:
            return []
        row = await conn.fetchrow(Q.orphan_bookmark if bookmark else Q.orphan_annotation, p["id"])
    else:
        counts["moved"] += 1
        row = await conn.fetchrow(Q.move_bookmark if bookmark else Q.move_annotation, p["id"],
                                  anchor.start, text.page_at(anchor.start))  # fmt: skip
    if bookmark:
        return [Event(user_channel(p["user_id"]), ev.BOOKMARK_UPDATED, _struct(row, Bookmark))]
    note = _struct(row, Annotation)
    events = [Event(user_channel(p["user_id"]), ev.ANNOTATION_UPDATED, note)]
    if p["public"]:
        events.append(Event(book_channel(book_id), ev.ANNOTATION_UPDATED, note))
    return events
