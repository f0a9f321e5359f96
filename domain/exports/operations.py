"""What an export holds: the reader's own highlights (with the notes made on them),
loose notes and bookmarks, of one book they may read or of every book they marked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.books.access import readable_book
from domain.errors import Invalid
from domain.exports import formats
from domain.exports.formats import BookMarks, Mark, Place
from domain.sql import Conn, load_queries

Q = load_queries(__file__)
FORMATS = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "readwise": ("text/csv; charset=utf-8", "csv"),
    "annotation": ("application/ld+json", "jsonld"),
    "clippings": ("text/plain; charset=utf-8", "txt"),
}


def _tags(value: Any) -> list[str]:
    tags = msgspec.json.decode(value) if isinstance(value, str | bytes) else value
    return [str(t) for t in tags or []]


async def gather(conn: Conn, user_id: UUID, book_id: UUID | None) -> list[BookMarks]:
    if book_id is not None:
        await readable_book(conn, book_id, user_id)  # NotFound for what they may not read
    books = {r["id"]: BookMarks(r["id"], r["title"] or "Untitled", r["author"])
             for r in await conn.fetch(Q.books, user_id, book_id)}  # fmt: skip
    ids = list(books)
    for r in await conn.fetch(Q.highlights, user_id, ids):
        books[r["book_id"]].highlights.append(Mark(
            r["id"], r["selected_text"], r["note"], [str(n) for n in _tags(r["notes"])],
            _tags(r["tags"]), r["color"], r["page_number"], r["start_offset"], r["end_offset"],
            r["chapter_title"], r["chapter_number"], r["prefix"], r["suffix"], r["created_at"],
            r["updated_at"],
        ))  # fmt: skip
    for r in await conn.fetch(Q.bookmarks, user_id, ids):
        books[r["book_id"]].bookmarks.append(Place(
            r["id"], r["note"] or r["context_text"], r["title"], r["page_number"],
            r["offset_at"], r["chapter_title"], [], r["created_at"],
        ))  # fmt: skip
    for r in await conn.fetch(Q.notes, user_id, ids):
        books[r["book_id"]].notes.append(Place(
            r["id"], r["content"], None, r["page_number"], r["offset_at"], None,
            _tags(r["tags"]), r["created_at"],
        ))  # fmt: skip
    return list(books.values())


def render(kind: str, books: list[BookMarks], base_url: str, library: bool) -> str:
    """The export file; `library`: of everything the reader marked, not of one book."""
    now = datetime.now(UTC)
    if kind == "markdown":
        return formats.markdown(books, base_url, now, library)
    if kind == "readwise":
        return formats.readwise_csv(books)
    if kind == "annotation":
        return msgspec.json.encode(formats.web_annotations(books, base_url, now, library)).decode()
    if kind == "clippings":
        return formats.clippings(books)
    raise Invalid(f"format is one of {', '.join(FORMATS)}", field="format")
