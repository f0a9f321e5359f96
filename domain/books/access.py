"""Who may read a book: its owner, or anyone signed in when it is public."""

from __future__ import annotations

from typing import Any
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
        """SELECT id, user_id, title, visibility, processing_status FROM books
           WHERE id = $1 AND deleted_at IS NULL""",
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


async def shown_to(conn: Conn, item: Any, user_id: UUID) -> bool:
    """Whether another reader's item (a highlight, an annotation: a row with `public` and
    `book_id`) is visible to `user_id`: public, on a book they may read. A public item
    on a private book is as unseen as the book (404, never 403)."""
    return bool(item["public"]) and await may_read(conn, item["book_id"], user_id)
