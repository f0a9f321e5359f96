"""Passages of a book by meaning and by words (ARCHITECTURE.md §5)."""

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


class Hit(msgspec.Struct, kw_only=True):
    chunk_id: UUID
    chapter_title: str | None
    chapter_number: int | None
    start_page: int | None
    end_page: int | None
    start_offset: int
    end_offset: int
    text: str
    score: float


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
    """The `k` best passages for `query`, best first; with `before_offset`, only passages
    that end before it."""
    query = query.strip()
    if not 1 <= len(query) <= 1000:
        raise Invalid("q must be 1 to 1000 characters", field="q")
    if not 1 <= k <= 50:
        raise Invalid("k must be 1 to 50", field="k")
    await readable_book(conn, book_id, user_id)
    vector = await asyncio.to_thread(embedder.embed_query, query)
    rows = await conn.fetch(
        Q.hybrid_search, book_id, query, Vector(vector), CANDIDATES, k, before_offset
    )
    return [msgspec.convert(dict(r), Hit) for r in rows]
