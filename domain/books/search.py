"""Passages of a book, or of a reader's whole library, by meaning and by words
(ARCHITECTURE.md §5; the method and its measured recall: docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
from uuid import UUID

import msgspec
from pgvector import Vector

from domain.books import bm25
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


async def ranked_passages(
    conn: Conn,
    embedder: Embedder,
    book_ids: list[UUID],
    query: str,
    k: int,
    before_offset: int | None = None,
) -> list[tuple[UUID, Hit]]:
    """(book id, hit) pairs, best first: BM25 and the question's vector each rank
    `CANDIDATES` passages, fused by reciprocal rank (k = 60); equal scores in the books'
    id order, then the book's order."""
    # the question is embedded in the model's process while the postings are read (the
    # connection stays with this coroutine: nothing may use it after we return)
    vector = asyncio.ensure_future(asyncio.to_thread(embedder.embed_query, query))
    try:
        lexical = await bm25.ranked(conn, book_ids, query, CANDIDATES, before_offset)
    except BaseException:
        vector.cancel()
        raise
    nearest = await conn.fetch(
        Q.nearest_passages, book_ids, Vector(await vector), CANDIDATES, before_offset
    )
    scores: dict[bm25.Passage, float] = {}
    for ranking in ([(r["book_id"], r["chunk_index"]) for r in nearest], lexical):
        for rank, passage in enumerate(ranking, start=1):
            scores[passage] = scores.get(passage, 0.0) + 1 / (60 + rank)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
    rows = {
        (r["book_id"], r["chunk_index"]): r
        for r in await conn.fetch(
            Q.passages_at, [b for (b, _), _ in best], [c for (_, c), _ in best]
        )
    }
    return [
        (book, msgspec.convert({**rows[book, chunk], "score": score}, Hit))
        for (book, chunk), score in best
        if (book, chunk) in rows
    ]


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
    return [
        hit for _, hit in await ranked_passages(conn, embedder, [book_id], query, k, before_offset)
    ]


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
    for book_id, hit in await ranked_passages(conn, embedder, list(books), query, k):
        if book_id not in grouped:
            book = books[book_id]
            grouped[book_id] = BookHits(
                book_id=book_id, title=book["title"], author=book["author"], hits=[]
            )
        grouped[book_id].hits.append(hit)
    return list(grouped.values())
