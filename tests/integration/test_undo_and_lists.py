"""Undoing deletions, and the reader's highlights, bookmarks and notes across books
(real PostgreSQL, each test rolled back)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest

from domain.errors import Forbidden, NotFound
from domain.reading import across_books, bookmarks, highlights
from domain.reading import annotations as annotation_ops
from domain.reading.across_books import AnnotationFilter, BookmarkFilter, HighlightFilter
from domain.reading.models import (
    AnnotationCreate,
    AutoBookmark,
    BookmarkCreate,
    HighlightCreate,
)
from domain.writes import Written
from tests.factories import make_book, make_user


def _hl(text: str = "It is a truth universally acknowledged", **kw: object) -> HighlightCreate:
    base = {"selected_text": text, "page_number": 1, "start_offset": 0, "end_offset": len(text)}
    return msgspec.convert({**base, **kw}, HighlightCreate)


def _names(written: Written[Any]) -> list[tuple[str, str]]:
    return [(e.channel.split(":")[0], e.event) for e in written.events]


async def _counts(conn: asyncpg.Connection, book: UUID) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT total_highlights, community_highlights_count FROM books WHERE id = $1", book
    )
    assert row is not None
    return row["total_highlights"], row["community_highlights_count"]


async def test_a_deleted_highlight_comes_back_as_it_was(conn: asyncpg.Connection) -> None:
    owner, other = await make_user(conn), await make_user(conn)
    book = await make_book(conn, owner, public=True)
    made = await highlights.create(conn, owner, book, _hl(public=True, note="mine"), "phone")
    hid = made.value.id
    await highlights.delete(conn, owner, hid, "phone")
    assert await _counts(conn, book) == (0, 0)
    with pytest.raises(NotFound):  # another reader cannot restore, nor learn it existed
        await highlights.restore(conn, other, hid, None)
    back = await highlights.restore(conn, owner, hid, "tablet")
    assert back.value.note == "mine" and back.value.public and back.value.device_type == "phone"
    assert _names(back) == [("user", "highlight.created"), ("book", "highlight.created")]
    assert await _counts(conn, book) == (1, 1)
    again = await highlights.restore(conn, owner, hid, None)  # already back: nothing changes
    assert again.events == [] and not again.created
    with pytest.raises(Forbidden):  # a live public highlight of someone else
        await highlights.restore(conn, other, hid, None)


async def test_no_restore_on_a_book_the_reader_may_no_longer_read(
    conn: asyncpg.Connection,
) -> None:
    owner, reader = await make_user(conn), await make_user(conn)
    book = await make_book(conn, owner, public=True)
    hid = (await highlights.create(conn, reader, book, _hl(), None)).value.id
    await highlights.delete(conn, reader, hid, None)
    await conn.execute("UPDATE books SET visibility = 'private' WHERE id = $1", book)
    with pytest.raises(NotFound):
        await highlights.restore(conn, reader, hid, None)


async def test_bookmarks_and_notes_come_back_too(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    book = await make_book(conn, owner)
    mark = await bookmarks.create(conn, owner, book, BookmarkCreate(page_number=4), None)
    await bookmarks.delete(conn, owner, mark.value.id, None)
    back = await bookmarks.restore(conn, owner, mark.value.id, None)
    assert back.value.page_number == 4 and _names(back) == [("user", "bookmark.created")]
    assert await conn.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 1

    auto = await bookmarks.set_auto(conn, owner, book, AutoBookmark(page_number=2), None)
    await bookmarks.delete(conn, owner, auto.value.id, None)
    assert await conn.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 1
    # the next move revives it: for the reader's devices it is there again, and counts
    revived = await bookmarks.set_auto(conn, owner, book, AutoBookmark(page_number=9), None)
    assert revived.created and revived.value.id == auto.value.id
    assert _names(revived) == [("user", "bookmark.created")]
    assert await conn.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 2
    moved = await bookmarks.restore(conn, owner, auto.value.id, None)  # revived by the move
    assert moved.value.page_number == 9 and moved.events == []

    note = AnnotationCreate(annotation_type="text", content="<b>why</b> here", page_number=1)
    made = await annotation_ops.create(conn, owner, book, note, None)
    await annotation_ops.delete(conn, owner, made.value.id, None)
    restored = await annotation_ops.restore(conn, owner, made.value.id, None)
    assert restored.value.plain_text_content == "why here"
    assert _names(restored) == [("user", "annotation.created")]


async def test_lists_across_books_filter_and_stay_the_callers_own(
    conn: asyncpg.Connection,
) -> None:
    reader, other = await make_user(conn), await make_user(conn)
    mine, theirs = await make_book(conn, reader), await make_book(conn, other, public=True)
    closed = await make_book(conn, other, public=True)
    made = {
        "whale": await highlights.create(
            conn, reader, mine, _hl("Call me Ishmael", color="blue", tags=["openings"]), None
        ),
        "truth": await highlights.create(
            conn,
            reader,
            theirs,
            _hl("a truth universally acknowledged", note="irony", public=True, category="quote"),
            None,
        ),
        "gone": await highlights.create(conn, reader, mine, _hl("deleted words"), None),
        "hidden": await highlights.create(conn, reader, closed, _hl("on a closed book"), None),
    }
    await highlights.create(conn, other, theirs, _hl("someone else's", public=True), None)
    await highlights.delete(conn, reader, made["gone"].value.id, None)
    await conn.execute("UPDATE books SET visibility = 'private' WHERE id = $1", closed)

    async def ids(**where: Any) -> list[UUID]:
        page, _ = await across_books.list_highlights(
            conn, reader, msgspec.convert(where, HighlightFilter), cursor=None, limit=50
        )
        return [h.id for h in page.items]

    whale, truth = made["whale"].value.id, made["truth"].value.id
    assert await ids() == [truth, whale]  # newest first; deleted and unreadable left out
    assert await ids(color="blue") == [whale]
    assert await ids(tag="openings") == [whale]
    assert await ids(public=True) == [truth] and await ids(public=False) == [whale]
    assert await ids(category="quote") == [truth]
    assert await ids(q="ironies") == [truth]  # the note, stemmed
    assert await ids(q="ishmael") == [whale]
    assert await ids(book_id=str(theirs)) == [truth]
    page, _ = await across_books.list_highlights(
        conn, reader, HighlightFilter(), cursor=None, limit=1
    )
    rest, _ = await across_books.list_highlights(
        conn, reader, HighlightFilter(), cursor=page.next_cursor, limit=1
    )
    assert [h.id for h in page.items + rest.items] == [truth, whale] and rest.next_cursor is None

    await bookmarks.create(conn, reader, mine, BookmarkCreate(page_number=3, title="Chase"), None)
    await bookmarks.create(
        conn, reader, theirs, BookmarkCreate(page_number=5, category="favorite"), None
    )
    marks, _ = await across_books.list_bookmarks(
        conn, reader, BookmarkFilter(q="chase"), cursor=None, limit=10
    )
    assert [b.title for b in marks.items] == ["Chase"]
    favs, _ = await across_books.list_bookmarks(
        conn, reader, BookmarkFilter(category="favorite"), cursor=None, limit=10
    )
    assert [b.page_number for b in favs.items] == [5]

    await annotation_ops.create(
        conn, reader, mine,
        AnnotationCreate(annotation_type="text", content="a whale of a tale", page_number=1,
                         tags=["sea"]), None,
    )  # fmt: skip
    notes, _ = await across_books.list_annotations(
        conn, reader, AnnotationFilter(tag="sea", annotation_type="text", q="whales"),
        cursor=None, limit=10,
    )  # fmt: skip
    assert [n.content for n in notes.items] == ["a whale of a tale"]
    none, _ = await across_books.list_annotations(
        conn, other, AnnotationFilter(), cursor=None, limit=10
    )
    assert none.items == []
