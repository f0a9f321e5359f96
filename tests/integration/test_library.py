"""The reader's library on a real PostgreSQL: filters, sorts with their cursors, ratings
and the book counters the database keeps (each test rolled back)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec
import pytest

from domain.books import library
from domain.books.library import LibraryFilter, RatingSet
from domain.errors import Invalid, NotFound
from tests.factories import make_book, make_user

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _shelf(conn: asyncpg.Connection) -> tuple[UUID, UUID, dict[str, UUID]]:
    """Ann's three books, Bea's public Emma and her private diary."""
    ann, bea = await make_user(conn), await make_user(conn)
    books = {
        "pride": await make_book(conn, ann, title="Pride and Prejudice"),
        "moby": await make_book(conn, ann, title="Moby-Dick"),
        "culture": await make_book(conn, ann, title="Free Culture"),
        "emma": await make_book(conn, bea, title="Emma", public=True),
        "diary": await make_book(conn, bea, title="Secret Diary"),
    }
    facts = {
        "pride": ("Jane Austen", "Fiction", 6, 1),
        "moby": ("Herman Melville", "fiction", 8, 2),
        "culture": ("Lawrence Lessig", "Law", 7, 3),
        "emma": ("Jane Austen", "Fiction", 6, 4),
        "diary": ("Bea", "Fiction", 3, 5),
    }
    for key, (author, genre, level, day) in facts.items():
        await conn.execute(
            """UPDATE books SET author = $2, genre = $3, difficulty_level = $4,
                      created_at = $5 WHERE id = $1""",
            books[key], author, genre, level, T0 + timedelta(days=day),
        )  # fmt: skip
    return ann, bea, books


async def _read(
    conn: asyncpg.Connection, user: UUID, book: UUID, *, day: int, done: bool = False
) -> None:
    await conn.execute(
        """INSERT INTO reading_progress (user_id, book_id, last_read_at, completed)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (user_id, book_id) DO UPDATE
           SET last_read_at = EXCLUDED.last_read_at, completed = EXCLUDED.completed""",
        user, book, T0 + timedelta(days=day), done,
    )  # fmt: skip


async def _titles(conn: asyncpg.Connection, user: UUID, **where: object) -> list[str]:
    where_ = msgspec.convert(where, LibraryFilter)
    page, _ = await library.list_library(conn, user, where_, cursor=None, limit=100)
    return [b.title for b in page.items]


async def test_scope_words_genre_and_difficulty_filter_what_the_reader_may_read(
    conn: asyncpg.Connection,
) -> None:
    ann, _, _ = await _shelf(conn)
    everything = {"Pride and Prejudice", "Moby-Dick", "Free Culture", "Emma"}
    assert set(await _titles(conn, ann)) == everything  # never Bea's private diary
    assert set(await _titles(conn, ann, scope="mine")) == everything - {"Emma"}
    assert await _titles(conn, ann, scope="public") == ["Emma"]
    assert set(await _titles(conn, ann, q="austen")) == {"Pride and Prejudice", "Emma"}
    assert await _titles(conn, ann, q="prid PREJ") == ["Pride and Prejudice"]  # prefixes
    assert await _titles(conn, ann, q="secret") == []
    assert set(await _titles(conn, ann, genre="FICTION")) == {
        "Pride and Prejudice", "Moby-Dick", "Emma"
    }  # fmt: skip
    assert await _titles(conn, ann, difficulty=8) == ["Moby-Dick"]
    for bad in ({"q": "&|!:*"}, {"difficulty": 11}):
        with pytest.raises(Invalid):
            await _titles(conn, ann, **bad)


async def test_status_is_the_callers_own_reading(conn: asyncpg.Connection) -> None:
    ann, bea, books = await _shelf(conn)
    await _read(conn, ann, books["pride"], day=10)
    await _read(conn, ann, books["moby"], day=11, done=True)
    await _read(conn, bea, books["culture"], day=12, done=True)  # Bea's, not Ann's
    assert await _titles(conn, ann, status="reading") == ["Pride and Prejudice"]
    assert await _titles(conn, ann, status="finished") == ["Moby-Dick"]
    assert set(await _titles(conn, ann, status="not_started")) == {"Free Culture", "Emma"}


async def _all_pages(conn: asyncpg.Connection, user: UUID, sort: str) -> list[str]:
    titles, cursor = [], None
    while True:
        where = msgspec.convert({"sort": sort}, LibraryFilter)
        page, _ = await library.list_library(conn, user, where, cursor=cursor, limit=1)
        titles += [b.title for b in page.items]
        if page.next_cursor is None:
            return titles
        cursor = page.next_cursor


async def test_each_sort_pages_through_every_book_once(conn: asyncpg.Connection) -> None:
    ann, bea, books = await _shelf(conn)
    await _read(conn, ann, books["culture"], day=20)
    await _read(conn, ann, books["moby"], day=10)
    # recent: the caller's last reading, else when the book was added
    assert await _all_pages(conn, ann, "recent") == [
        "Free Culture", "Moby-Dick", "Emma", "Pride and Prejudice"
    ]  # fmt: skip
    assert await _all_pages(conn, ann, "title") == [
        "Emma", "Free Culture", "Moby-Dick", "Pride and Prejudice"
    ]  # fmt: skip
    third = await make_user(conn)
    for reader in (bea, third):
        await _read(conn, reader, books["emma"], day=1)
    await _read(conn, third, books["moby"], day=1)
    popular = await _all_pages(conn, ann, "popular")
    # 2 and 2 readers (the tie in id order), then 1, then none
    assert set(popular[:2]) == {"Emma", "Moby-Dick"}
    assert popular[2:] == ["Free Culture", "Pride and Prejudice"]
    page, _ = await library.list_library(
        conn, ann, LibraryFilter(sort="title"), cursor=None, limit=1
    )
    for cursor in (page.next_cursor, "not-a-cursor"):
        with pytest.raises(Invalid):  # a title cursor is no popularity cursor
            await library.list_library(
                conn, ann, LibraryFilter(sort="popular"), cursor=cursor, limit=1
            )


async def test_ratings_average_and_completion_are_kept_by_the_database(
    conn: asyncpg.Connection,
) -> None:
    ann, bea, books = await _shelf(conn)
    emma = books["emma"]
    third = await make_user(conn)
    assert (await library.rate(conn, ann, emma, RatingSet(4))).community_rating == 4
    mine = await library.rate(conn, bea, emma, RatingSet(5))
    assert (mine.rating, mine.community_rating, mine.ratings_count) == (5, 4.5, 2)
    again = await library.rate(conn, bea, emma, RatingSet(2))  # a second rating replaces
    assert (again.community_rating, again.ratings_count) == (3, 2)
    await library.unrate(conn, ann, emma)
    theirs = await library.rating(conn, third, emma)
    assert (theirs.rating, theirs.community_rating, theirs.ratings_count) == (None, 2, 1)
    with pytest.raises(NotFound):  # Bea's private diary is not Ann's to rate
        await library.rate(conn, ann, books["diary"], RatingSet(1))

    await _read(conn, ann, emma, day=1, done=True)
    await _read(conn, bea, emma, day=1)
    await _read(conn, third, emma, day=1)
    assert await _counts(conn, emma) == (3, 33)
    await _read(conn, bea, emma, day=2, done=True)
    await conn.execute("DELETE FROM reading_progress WHERE user_id = $1", third)
    assert await _counts(conn, emma) == (2, 100)


async def _counts(conn: asyncpg.Connection, book: UUID) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT readers_count, completion_rate_percent FROM books WHERE id = $1", book
    )
    assert row is not None
    return row["readers_count"], row["completion_rate_percent"]
