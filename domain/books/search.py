"""Passages of a book, or of a reader's whole library, by meaning and by words
(ARCHITECTURE.md §5; the method and its measured recall: docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import msgspec
from pgvector import Vector

from domain.books.access import readable_book
from domain.books.operations import Q
from domain.errors import Invalid
from domain.ports import Embedder
from domain.sql import Conn

CANDIDATES = 50
# a library search returns at most this many books, each with its best passages
MAX_LIBRARY_BOOKS = 500


class Hit(msgspec.Struct, kw_only=True):
    """A passage as PROTOCOL.md lists a search hit (its book is the one asked about, or
    the group it is in)."""

    chunk_id: UUID
    chapter_title: str | None
    chapter_number: int | None
    start_page: int | None
    end_page: int | None
    start_offset: int
    end_offset: int
    text: str
    score: float


class BookHits(msgspec.Struct, kw_only=True):
    """One book's passages in a search across the library, best first."""

    book_id: UUID
    title: str
    author: str | None
    hits: list[Hit]


def _checked(query: str, k: int) -> str:
    query = query.strip()
    if not 1 <= len(query) <= 1000:
        raise Invalid("q must be 1 to 1000 characters", field="q")
    if not 1 <= k <= 50:
        raise Invalid("k must be 1 to 50", field="k")
    return query


async def _passages(
    conn: Conn,
    embedder: Embedder,
    book_ids: list[UUID],
    query: str,
    k: int,
    before_offset: int | None = None,
) -> list[tuple[UUID, Hit]]:
    """(book id, hit) pairs, best first."""
    vector = await asyncio.to_thread(embedder.embed_query, query)
    rows = await conn.fetch(
        Q.hybrid_search, book_ids, query, Vector(vector), CANDIDATES, k, before_offset
    )
    return [(r["book_id"], msgspec.convert(dict(r), Hit)) for r in rows]


async def search(
    conn: Conn,
    embedder: Embedder,
    user_id: UUID,
    book_id: UUID,
    query: str,
    k: int,
    *,
    before_offset: int | None = None,
) -> list[Hit]:
    """The `k` best passages of one book for `query`, best first; with `before_offset`,
    only passages that end before it."""
    query = _checked(query, k)
    await readable_book(conn, book_id, user_id)
    return [hit for _, hit in await _passages(conn, embedder, [book_id], query, k, before_offset)]


async def search_library(
    conn: Conn, embedder: Embedder, user_id: UUID, query: str, k: int
) -> list[BookHits]:
    """The `k` best passages across the reader's library -- their own books and the
    public ones they have opened -- grouped by book, the book of the best passage first."""
    query = _checked(query, k)
    books = {r["id"]: r for r in await conn.fetch(Q.library_books, user_id, MAX_LIBRARY_BOOKS)}
    if not books:
        return []
    grouped: dict[UUID, BookHits] = {}
    for book_id, hit in await _passages(conn, embedder, list(books), query, k):
        if book_id not in grouped:
            book = books[book_id]
            grouped[book_id] = BookHits(
                book_id=book_id, title=book["title"], author=book["author"], hits=[]
            )
        grouped[book_id].hits.append(hit)
    return list(grouped.values())
