"""Books' counters moved by a group of writes: one statement, the books locked in id
order first, as every write takes them."""

from __future__ import annotations

from uuid import UUID

from domain.reading.sql import Q
from domain.sql import Conn


async def count_books(conn: Conn, moves: dict[UUID, dict[str, int]]) -> None:
    """In the caller's transaction: each book's counters moved by its amounts
    (`highlights`, `community`, `bookmarks`)."""
    if moves:
        await conn.execute(Q.count_books, [{"book_id": book, **by} for book, by in moves.items()])
