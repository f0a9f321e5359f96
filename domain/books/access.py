"""Who may read a book: its owner, or anyone signed in when it is public."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain.errors import NotFound
from domain.sql import Conn


class BookRef(msgspec.Struct, frozen=True):
    id: UUID
    user_id: UUID
    title: str
    visibility: str
    processing_status: str


async def readable_book(conn: Conn, book_id: UUID, user_id: UUID) -> BookRef:
    """The book if `user_id` may read it; NotFound otherwise (a private book's existence
    is never revealed)."""
    row = await conn.fetchrow(
        "SELECT id, user_id, title, visibility, processing_status FROM books WHERE id = $1",
        book_id,
    )
    if row is None or (row["user_id"] != user_id and row["visibility"] != "public"):
        raise NotFound("no such book")
    return BookRef(**dict(row))


async def may_read(conn: Conn, book_id: UUID, user_id: UUID) -> bool:
    try:
        await readable_book(conn, book_id, user_id)
    except NotFound:
        return False
    return True
