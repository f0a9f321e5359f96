"""Undo of a deletion: a highlight, bookmark or annotation is a tombstone until the purge
(at least the event retention, 7 days), and its owner may bring it back until then."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.books.access import readable_book, shown_to
from domain.errors import Forbidden, NotFound
from domain.sql import Conn


async def tombstone_of(conn: Conn, query: str, item_id: UUID, user_id: UUID, noun: str) -> Any:
    """The caller's item, locked: its row and whether it is deleted (a restore of a live
    item changes nothing). Another reader's item is 404, or 403 when they may see it;
    an item on a book the caller may no longer read is 404 like the book."""
    row = await conn.fetchrow(query, item_id)
    if row is None or row["user_id"] != user_id:
        visible = (
            row is not None and row["deleted_at"] is None and bool(row.get("public"))
            and await shown_to(conn, row, user_id)
        )  # fmt: skip
        if visible:
            raise Forbidden(f"not your {noun}")
        raise NotFound(f"no such {noun}")
    if row["deleted_at"] is not None:
        await readable_book(conn, row["book_id"], user_id)
    return row
