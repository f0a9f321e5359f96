"""KOReader XPointers on stored EPUBs: a spine item's path to a BookMind offset, and an
offset to a path KOReader opens at the same paragraph.

A chapter is one spine item (`source_index`), or several when ingestion merged short
ones: then each item's text is found in the chapter's text. The spine items are read
from the stored file on demand and kept, a few books and their read fragments, per
process, under the file's digest (a book's file may be replaced by another edition)."""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any
from uuid import UUID

from domain.books.operations import file_key
from domain.books.parse_epub import spine_documents
from domain.books.parsed import ParseError
from domain.kosync.positions import ChapterSpan
from domain.kosync.xpointer import Fragment, read_fragment
from domain.ports import FileStore
from domain.sql import Conn, load_queries

Q = load_queries(__file__)
XPOINTER = re.compile(r"^/body/DocFragment\[(\d{1,6})\](.*)$")
BOOKS_KEPT, FRAGMENTS_KEPT = 8, 64


class _Kept(OrderedDict[Hashable, Any]):
    """The last `size` values, the least recently used dropped first."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def keep(self, key: Hashable, value: Any) -> Any:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)
        return value

    def find(self, key: Hashable) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        return None


_documents = _Kept(BOOKS_KEPT)
_fragments = _Kept(FRAGMENTS_KEPT)


async def _spine(files: FileStore, book_id: UUID, version: str) -> dict[int, bytes]:
    documents = _documents.find((book_id, version))
    if documents is None:
        try:
            data = await files.get(file_key(book_id, "epub"))
            documents = await asyncio.to_thread(spine_documents, data)
        except (FileNotFoundError, ParseError):
            documents = {}
        _documents.keep((book_id, version), documents)
    return dict(documents)


async def fragment(files: FileStore, book_id: UUID, version: str, n: int) -> Fragment | None:
    """Spine item n of a stored EPUB (`version`: its digest), read as ingestion reads it
    (None if there is none)."""
    found = _fragments.find((book_id, version, n))
    if found is None:
        content = (await _spine(files, book_id, version)).get(n)
        if content is None:
            return None
        found = _fragments.keep((book_id, version, n),
                                await asyncio.to_thread(read_fragment, content))  # fmt: skip
    return found if isinstance(found, Fragment) else None


async def _chapter_text(conn: Conn, book_id: UUID, chapter: ChapterSpan) -> str:
    return await conn.fetchval(Q.chapter_text, book_id, chapter.start_offset) or ""


async def offset_of(
    conn: Conn, files: FileStore, book: Any, chapters: list[ChapterSpan], progress: str
) -> int | None:
    """The book offset of a KOReader XPointer resolved inside its spine item; None when
    it cannot be (no such item, an item without text, a path naming nothing)."""
    m = XPOINTER.match(progress)
    if m is None:
        return None
    n = int(m[1])
    chapter = next((c for c in reversed(chapters)
                    if c.source_index is not None and c.source_index <= n), None)  # fmt: skip
    book_id, version = book["id"], book["file_sha256"] or ""
    item = await fragment(files, book_id, version, n) if chapter else None
    local = item.offset_of(m[2]) if item and item.text else None
    if chapter is None or item is None or local is None:
        return None
    base = 0
    if chapter.source_index != n:  # a spine item merged into an earlier one's chapter
        base = (await _chapter_text(conn, book_id, chapter)).find(item.text)
        if base < 0:
            return None
    return min(chapter.start_offset + base + local, chapter.end_offset)


async def progress_at(
    conn: Conn, files: FileStore, book: Any, chapters: list[ChapterSpan], offset: int
) -> str | None:
    """A KOReader XPointer to the text at or just before a book offset, or None."""
    indexed = [c for c in chapters if c.source_index is not None]
    chapter = next((c for c in indexed if offset < c.end_offset), indexed[-1] if indexed else None)
    if chapter is None or chapter.source_index is None:
        return None
    n, local = chapter.source_index, max(0, offset - chapter.start_offset)
    book_id, version = book["id"], book["file_sha256"] or ""
    item = await fragment(files, book_id, version, n)
    if item is None:
        return None
    if len(item.text) != chapter.end_offset - chapter.start_offset:
        # merged: the last spine item whose text starts at or before the offset
        text, cursor, base = await _chapter_text(conn, book_id, chapter), 0, 0
        later = [c.source_index for c in indexed if c.source_index and c.source_index > n]
        end = later[0] if later else max(await _spine(files, book_id, version)) + 1
        for k in range(n, end):
            candidate = await fragment(files, book_id, version, k)
            if candidate is None or not candidate.text:
                continue
            at = text.find(candidate.text, cursor)
            if at < 0:
                continue
            if at > local:
                break
            n, item, base, cursor = k, candidate, at, at + len(candidate.text)
        local -= base
    return f"/body/DocFragment[{n}]{item.pointer_at(local)}"
