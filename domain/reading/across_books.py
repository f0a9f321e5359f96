"""The caller's highlights, bookmarks and notes across all their books, filtered, in
cursor pages newest first (`GET /highlights`, `/bookmarks`, `/annotations`)."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.events import user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.reading.models import (
    Annotation,
    AnnotationType,
    Bookmark,
    BookmarkCategory,
    Category,
    Color,
    Highlight,
    Tag,
)
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import read_with_heads

T = TypeVar("T", Highlight, Bookmark, Annotation)
Words = Annotated[str, Meta(min_length=1, max_length=200)]


class HighlightFilter(msgspec.Struct, frozen=True, kw_only=True):
    book_id: UUID | None = None
    color: Color | None = None
    category: Category | None = None
    tag: Tag | None = None
    public: bool | None = None
    q: Words | None = None  # words of the text or the note (English stemming)


class BookmarkFilter(msgspec.Struct, frozen=True, kw_only=True):
    book_id: UUID | None = None
    category: BookmarkCategory | None = None
    q: Words | None = None


class AnnotationFilter(msgspec.Struct, frozen=True, kw_only=True):
    book_id: UUID | None = None
    annotation_type: AnnotationType | None = None
    tag: Tag | None = None
    public: bool | None = None
    q: Words | None = None


def _convert(rows: list[Any], kind: type[T]) -> list[T]:
    fields = kind.__struct_fields__
    return [msgspec.convert({k: r[k] for k in fields}, kind) for r in rows]


async def _paged(
    conn: Conn, user_id: UUID, kind: type[T], query: str, args: tuple[Any, ...],
    cursor: str | None, limit: int,
) -> tuple[Page[T], dict[str, int]]:  # fmt: skip
    stamp, last_id = decode_cursor(cursor) or (None, None)

    async def read() -> Page[T]:
        rows = await conn.fetch(query, user_id, *args, stamp, last_id, limit + 1)
        return page_of(_convert(rows, kind), limit, lambda x: (x.created_at, x.id))

    return await read_with_heads(conn, [user_channel(user_id)], read)


async def list_highlights(
    conn: Conn, user_id: UUID, where: HighlightFilter, *, cursor: str | None, limit: int
) -> tuple[Page[Highlight], dict[str, int]]:
    args = (where.book_id, where.color, where.category, where.tag, where.public, where.q)
    return await _paged(conn, user_id, Highlight, Q.my_highlights, args, cursor, limit)


async def list_bookmarks(
    conn: Conn, user_id: UUID, where: BookmarkFilter, *, cursor: str | None, limit: int
) -> tuple[Page[Bookmark], dict[str, int]]:
    args = (where.book_id, where.category, where.q)
    return await _paged(conn, user_id, Bookmark, Q.my_bookmarks, args, cursor, limit)


async def list_annotations(
    conn: Conn, user_id: UUID, where: AnnotationFilter, *, cursor: str | None, limit: int
) -> tuple[Page[Annotation], dict[str, int]]:
    args = (where.book_id, where.annotation_type, where.tag, where.public, where.q)
    return await _paged(conn, user_id, Annotation, Q.my_annotations, args, cursor, limit)
