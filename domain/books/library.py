"""The reader's library (`GET /books`): which books, filtered and sorted, in cursor pages.

Every sort is a keyset over (key, id), so a page never repeats or skips a book while
books are added; the cursor carries the last book's key and id."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from domain.books.access import readable_book
from domain.books.models import Book
from domain.books.operations import book_from_row
from domain.errors import Invalid
from domain.events import user_channel
from domain.pagination import Page
from domain.sql import Conn, load_queries
from domain.writes import read_with_heads

# the filter is written once in library.sql and put into each sort's query
Q = load_queries(
    __file__, "library.sql",
    b_book_columns=", ".join(f"b.{n}" for n in Book.__struct_fields__),
    library_where=load_queries(__file__, "library.sql").library_where,
)  # fmt: skip

Scope = Literal["all", "mine", "public"]
Status = Literal["reading", "finished", "not_started"]
Sort = Literal["recent", "title", "popular"]
_WORD = re.compile(r"\w+")
MAX_QUERY_WORDS = 12


class LibraryFilter(msgspec.Struct, frozen=True, kw_only=True):
    scope: Scope = "all"  # all = the reader's own and every public book
    q: str | None = None  # words of the title or author, each as a prefix
    genre: str | None = None
    difficulty: int | None = None
    status: Status | None = None  # for the caller
    sort: Sort = "recent"  # recent = the caller's last reading, else when added


def _prefix_query(q: str | None) -> str | None:
    """`q` as a tsquery of word prefixes ('pri & prej:*'); only word characters reach
    it, so no input can make the tsquery malformed."""
    if q is None:
        return None
    words = _WORD.findall(q.lower())[:MAX_QUERY_WORDS]
    if not words:
        raise Invalid("q has no words to search for", field="q")
    return " & ".join(f"{w}:*" for w in words)


def _cursor(key: object, book_id: UUID) -> str:
    raw = msgspec.json.encode([key, str(book_id)])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str | None, sort: Sort) -> tuple[object, UUID | None]:
    if not cursor:
        return None, None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key, book_id = msgspec.json.decode(raw, type=tuple[str | int, UUID])
        if sort == "recent":
            return datetime.fromisoformat(str(key)), book_id
        if sort == "popular" and isinstance(key, int):
            return key, book_id
        if sort == "title" and isinstance(key, str):
            return key, book_id
    except (ValueError, msgspec.DecodeError):
        pass
    raise Invalid("malformed cursor (or one from another sort)", field="cursor")


async def list_library(
    conn: Conn, user_id: UUID, where: LibraryFilter, *, cursor: str | None, limit: int
) -> tuple[Page[Book], dict[str, int]]:
    if where.difficulty is not None and not 1 <= where.difficulty <= 10:
        raise Invalid("difficulty is 1 to 10", field="difficulty")
    words = _prefix_query(where.q)
    key, last_id = _after(cursor, where.sort)
    query = {"recent": Q.library_recent, "title": Q.library_title, "popular": Q.library_popular}

    async def read() -> Page[Book]:
        rows = await conn.fetch(
            query[where.sort], user_id, where.scope, words, where.genre, where.difficulty,
            where.status, key, last_id, limit + 1,
        )  # fmt: skip
        more = len(rows) > limit
        rows = rows[:limit]
        books = [book_from_row(r) for r in rows]
        last = rows[-1] if more else None
        sort_key = last["sort_key"] if last is not None else None
        if isinstance(sort_key, datetime):
            sort_key = sort_key.isoformat()
        next_cursor = _cursor(sort_key, last["id"]) if last is not None else None
        return Page(items=books, next_cursor=next_cursor)

    return await read_with_heads(conn, [user_channel(user_id)], read)


class RatingSet(msgspec.Struct, forbid_unknown_fields=True):
    rating: Annotated[int, msgspec.Meta(ge=1, le=5)]


class Rating(msgspec.Struct, kw_only=True):
    book_id: UUID
    rating: int | None  # the caller's, None when they have not rated it
    community_rating: float | None  # every reader's average, to two decimals
    ratings_count: int


async def _rating(conn: Conn, user_id: UUID, book_id: UUID) -> Rating:
    row = await conn.fetchrow(Q.rating_of, book_id, user_id)
    assert row is not None  # the caller just found the book readable
    return msgspec.convert(dict(row), Rating)


async def rating(conn: Conn, user_id: UUID, book_id: UUID) -> Rating:
    await readable_book(conn, book_id, user_id)
    return await _rating(conn, user_id, book_id)


async def rate(conn: Conn, user_id: UUID, book_id: UUID, given: RatingSet) -> Rating:
    """Any reader of the book rates it once (again replaces); the average follows in the
    same transaction."""
    async with conn.transaction():
        await readable_book(conn, book_id, user_id)
        await conn.execute(Q.rate_book, book_id, user_id, given.rating)
        return await _rating(conn, user_id, book_id)


async def unrate(conn: Conn, user_id: UUID, book_id: UUID) -> None:
    async with conn.transaction():
        await readable_book(conn, book_id, user_id)
        await conn.execute(Q.unrate_book, book_id, user_id)
