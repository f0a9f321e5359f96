"""What each OPDS feed lists: the reader's books, the public ones, those read lately,
by author, and a search over titles and authors. Pages of PAGE_SIZE, 1-based."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.books.models import Book
from domain.books.operations import book_from_row
from domain.errors import Invalid
from domain.sql import Conn, load_queries

Q = load_queries(
    __file__,
    book_columns=", ".join(Book.__struct_fields__),
    # for a query that joins a table with columns of the same names
    b_book_columns=", ".join(f"b.{name}" for name in Book.__struct_fields__),
)
PAGE_SIZE = 50
MAX_PAGE = 10_000
LISTS = {"books": Q.my_books, "public": Q.public_books, "recent": Q.recently_read}


def _window(page: int) -> tuple[int, int]:
    if not 1 <= page <= MAX_PAGE:
        raise Invalid(f"page must be 1 to {MAX_PAGE}", field="page")
    # one more than a page: it says whether a next page exists
    return PAGE_SIZE + 1, (page - 1) * PAGE_SIZE


async def books(conn: Conn, user_id: UUID, kind: str, page: int, *args: Any) -> list[Book]:
    limit, offset = _window(page)
    query = {**LISTS, "author": Q.by_author, "search": Q.search}[kind]
    return [book_from_row(r) for r in await conn.fetch(query, user_id, limit, offset, *args)]


async def authors(conn: Conn, user_id: UUID, page: int) -> list[tuple[str, int]]:
    limit, offset = _window(page)
    return [(r["author"], r["books"]) for r in await conn.fetch(Q.authors, user_id, limit, offset)]
