"""Group commit of highlight, bookmark and annotation creates, auto bookmark moves,
progress updates and reading sessions (domain/reading/highlights.create_many,
bookmarks.create_many and set_auto_many, annotations.create_many, progress.update_many,
sessions.start_many and end_many, and server/group_commit.py) on a real PostgreSQL:
each write in a group has its own outcome, events stay gapless per channel, counters
exact, progress applies in arrival order, and groups beside single writes never
deadlock."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import pytest

from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.events import book_channel, user_channel
from domain.reading import annotations as annotation_ops
from domain.reading import bookmarks, changes, highlights, progress, sessions
from domain.reading.changes import Change
from domain.reading.highlights import NewHighlight
from domain.reading.models import (
    AnnotationCreate,
    AnnotationPatch,
    AutoBookmark,
    BookmarkCreate,
    BookmarkPatch,
    HighlightCreate,
    HighlightPatch,
    ProgressUpdate,
    SessionEnd,
    SessionStart,
)
from domain.writes import Written
from server.group_commit import GroupCommit
from tests.factories import make_book, make_user


@pytest.fixture
async def db(pool: asyncpg.Pool) -> AsyncIterator[Any]:
    """A connection for setting up rows (the factories take one)."""
    async with pool.acquire() as conn:
        yield conn


def _new(user: UUID, book: UUID, **kw: Any) -> NewHighlight:
    base: dict[str, Any] = {"selected_text": "Call me Ishmael.", "page_number": 1,
                            "start_offset": 0, "end_offset": 16}  # fmt: skip
    return highlights.new_highlight(
        user, book, msgspec.convert({**base, **kw}, HighlightCreate), "dev"
    )


async def _seqs(pool: asyncpg.Pool, channel: str) -> list[int]:
    rows = await pool.fetch(
        "SELECT seq FROM channel_events WHERE channel = $1 ORDER BY seq", channel
    )
    return [r["seq"] for r in rows]


async def _counters(pool: asyncpg.Pool, book: UUID) -> tuple[int, int]:
    row = await pool.fetchrow(
        "SELECT total_highlights, community_highlights_count FROM books WHERE id = $1", book
    )
    assert row is not None
    return row["total_highlights"], row["community_highlights_count"]


async def test_each_create_in_a_group_has_its_own_outcome(pool: asyncpg.Pool, db: Any) -> None:
    owner, stranger = await make_user(db), await make_user(db)
    shared = await make_book(db, owner, public=True)
    hidden = await make_book(db, stranger)  # private: the owner may not write on it
    taken = uuid.uuid4()
    async with pool.acquire() as conn:
        await highlights.create(conn, stranger, shared, _highlight(taken), None)
    twice = uuid.uuid4()
    group = [
        _new(owner, shared, public=True, note="first"),
        _new(owner, hidden),
        _new(owner, shared, public=True, id=str(twice)),
        _new(owner, shared, id=str(twice), note="a retry in the same group"),
        _new(owner, shared, id=str(taken)),
        _new(owner, shared),
    ]
    async with pool.acquire() as conn:
        outcomes = await highlights.create_many(conn, group)

    first, refused, made, retry, clash, private = outcomes
    assert isinstance(first, Written) and first.created
    assert isinstance(refused, NotFound)
    assert isinstance(made, Written) and made.created
    assert isinstance(retry, Written) and not retry.created and retry.value.id == twice
    assert retry.value.note is None  # the stored highlight, not the retry's body
    assert isinstance(clash, Conflict)
    assert isinstance(private, Written) and private.created and not private.value.public

    # the stranger's highlight, then three of the owner's (two public): counters exact
    assert await _counters(pool, shared) == (4, 2)
    # owner's channel: one event per created highlight, gapless, in group order
    own = [e.seq for w in (first, made, private) for e in w.events if e.channel.startswith("user")]
    assert own == [1, 2, 3] == await _seqs(pool, user_channel(owner))
    # book channel: each public one, gapless (its counters are announced apart)
    on_book = [(e.event, e.seq) for w in (first, made) for e in w.events
               if e.channel == book_channel(shared)]  # fmt: skip
    assert [s for _, s in on_book] == [1, 2] == await _seqs(pool, book_channel(shared))
    assert [n for n, _ in on_book] == ["highlight.created"] * 2
    # what is published is what is stored
    stored = await pool.fetch(
        "SELECT seq, data FROM channel_events WHERE channel = $1 ORDER BY seq", book_channel(shared)
    )
    published = [msgspec.json.decode(bytes(e.data)) for w in (first, made) for e in w.events
                 if e.channel == book_channel(shared)]  # fmt: skip
    assert [r["data"] for r in stored] == published


async def test_each_delete_in_a_group_has_its_own_outcome(pool: asyncpg.Pool, db: Any) -> None:
    owner, other, stranger = await make_user(db), await make_user(db), await make_user(db)
    shared = await make_book(db, owner, public=True)
    hidden = await make_book(db, stranger)
    async with pool.acquire() as conn:
        made = await highlights.create_many(conn, [
            _new(owner, shared, public=True), _new(owner, shared), _new(owner, shared),
            _new(other, shared, public=True),
        ])  # fmt: skip
        ((theirs,),) = [await highlights.create_many(conn, [_new(stranger, hidden)])]
    public, private, kept, others = (w.value for w in made if isinstance(w, Written))
    assert isinstance(theirs, Written)
    assert await _counters(pool, shared) == (4, 2)

    def gone(hid: UUID, by: UUID = owner, origin: str = "phone") -> Change:
        return Change(highlights.KIND, "delete", hid, by, origin)

    group = [gone(public.id), gone(others.id), gone(theirs.value.id),
             gone(private.id, origin="tablet"), gone(public.id), gone(uuid.uuid4())]  # fmt: skip
    async with pool.acquire() as conn:
        outcomes = await changes.change_many(conn, group)

    first, not_mine, unseen, second, again, unknown = outcomes
    assert isinstance(first, Written) and first.value.id == public.id
    assert isinstance(not_mine, Forbidden)  # public on a book the owner reads: not theirs
    assert isinstance(unseen, NotFound)  # private on a book they cannot see: not there
    assert isinstance(second, Written) and second.value.id == private.id
    assert isinstance(again, NotFound)  # the same highlight again: gone, as a retry finds it
    assert isinstance(unknown, NotFound)
    live = {r["id"] for r in await pool.fetch(
        "SELECT id FROM highlights WHERE book_id = ANY($1) AND deleted_at IS NULL",
        [shared, hidden])}  # fmt: skip
    assert live == {kept.id, others.id, theirs.value.id}
    assert await _counters(pool, shared) == (2, 1)
    # the owner's channel: three creates, then the two deletes, each with its origin
    events = [(e.channel, e.seq, e.event, e.origin) for w in (first, second) for e in w.events]
    assert events == [
        (user_channel(owner), 4, "highlight.deleted", "phone"),
        (book_channel(shared), 3, "highlight.deleted", "phone"),
        (user_channel(owner), 5, "highlight.deleted", "tablet"),
    ]
    assert await _seqs(pool, user_channel(owner)) == [1, 2, 3, 4, 5]
    # on the book's channel, the public highlight's creation is redacted
    book_log = await pool.fetch(
        "SELECT seq, event, data FROM channel_events WHERE channel = $1 ORDER BY seq",
        book_channel(shared),
    )
    assert [(r["seq"], r["event"]) for r in book_log][2] == (3, "highlight.deleted")
    assert str(public.id) not in str([r["data"] for r in book_log[:2]])
    assert str(others.id) in str(book_log[1]["data"])


def _highlight(hid: UUID) -> HighlightCreate:
    return msgspec.convert({"id": str(hid), "selected_text": "Taken.", "page_number": 1,
                            "start_offset": 0, "end_offset": 6}, HighlightCreate)  # fmt: skip


async def test_one_failing_statement_fails_only_its_create(pool: asyncpg.Pool, db: Any) -> None:
    owner = await make_user(db)
    book = await make_book(db, owner)
    good = _new(owner, book)
    # past the API's checks (built directly): the database's CHECK refuses it
    bad = highlights.new_highlight(
        owner, book,
        HighlightCreate(selected_text="x" * 3000, page_number=1, start_offset=0, end_offset=1),
        None,
    )  # fmt: skip
    also_good = _new(owner, book)
    async with pool.acquire() as conn:
        outcomes = await highlights.create_many(conn, [good, bad, also_good])
    assert isinstance(outcomes[0], Written) and isinstance(outcomes[2], Written)
    assert isinstance(outcomes[1], asyncpg.CheckViolationError)
    ids = {r["id"] for r in await pool.fetch("SELECT id FROM highlights WHERE book_id = $1", book)}
    assert ids == {good.highlight.id, also_good.highlight.id}
    assert await _seqs(pool, user_channel(owner)) == [1, 2]
    assert await _counters(pool, book) == (2, 0)


def _mark(user: UUID, book: UUID, origin: str, **kw: Any) -> bookmarks.NewBookmark:
    cmd = msgspec.convert({"page_number": 3, **kw}, BookmarkCreate)
    return bookmarks.new_bookmark(user, book, cmd, origin)


async def test_each_bookmark_in_a_group_has_its_own_outcome(pool: asyncpg.Pool, db: Any) -> None:
    owner, other = await make_user(db), await make_user(db)
    shared = await make_book(db, owner, public=True)
    hidden = await make_book(db, other)  # private: the owner may not write on it
    taken, twice = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await bookmarks.create(conn, other, shared, BookmarkCreate(id=taken, page_number=1), None)
        await progress.update(
            conn, owner, shared, ProgressUpdate(current_page=2, progress_percentage=0.25), "phone"
        )
    group = [
        _mark(owner, shared, "phone", title="first", position_data={"cfi": "/6/4"}),
        _mark(other, shared, "tablet", title="the other reader's"),
        _mark(owner, hidden, "phone"),
        _mark(owner, shared, "phone", id=str(twice), title="made"),
        _mark(owner, shared, "phone", id=str(twice), title="a retry in the same group"),
        _mark(owner, shared, "phone", id=str(taken)),
        _mark(owner, shared, "laptop", category="favorite", note="n", icon="star"),
    ]
    async with pool.acquire() as conn:
        outcomes = await bookmarks.create_many(conn, group)

    first, others, refused, made, retry, clash, last = outcomes
    assert isinstance(refused, NotFound) and isinstance(clash, Conflict)
    assert isinstance(retry, Written) and not retry.created and retry.value.title == "made"
    created = [first, others, made, last]
    assert all(isinstance(w, Written) and w.created for w in created)
    assert first.value.position_data == {"cfi": "/6/4"}  # type: ignore[union-attr]
    assert first.value.reading_progress_when_created == 0.25  # type: ignore[union-attr]
    assert others.value.reading_progress_when_created is None  # type: ignore[union-attr]
    assert (last.value.category, last.value.note, last.value.icon) == (  # type: ignore[union-attr]
        "favorite", "n", "star")  # fmt: skip
    total = await pool.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", shared)
    assert total == 5  # the one made before, and the four made now
    # each reader's channel gapless, in group order, each event with its own origin
    for user, written, before in ((owner, [first, made, last], 1), (other, [others], 1)):
        events = [e for w in written for e in w.events]  # type: ignore[union-attr]
        stored = await pool.fetch(
            "SELECT seq, event, data, origin FROM channel_events WHERE channel = $1 ORDER BY seq",
            user_channel(user),
        )
        assert [e.seq for e in events] == [r["seq"] for r in stored][before:]
        assert [(e.event, e.origin) for e in events] == [
            (r["event"], r["origin"]) for r in stored[before:]]  # fmt: skip
        assert [msgspec.json.decode(bytes(e.data)) for e in events] == [
            r["data"] for r in stored[before:]]  # fmt: skip
    assert [e.origin for w in (first, made, last) for e in w.events] == [  # type: ignore[union-attr]
        "phone", "phone", "laptop"]  # fmt: skip
    # the owner's progress event was seq 1 on their channel; the other's first bookmark
    assert await _seqs(pool, user_channel(owner)) == [1, 2, 3, 4]
    assert await _seqs(pool, user_channel(other)) == [1, 2]


async def test_auto_bookmarks_move_in_groups(pool: asyncpg.Pool, db: Any) -> None:
    reader, other = await make_user(db), await make_user(db)
    book = await make_book(db, reader, public=True, title="Emma")
    hidden = await make_book(db, other)
    async with pool.acquire() as conn:
        before = await bookmarks.set_auto(conn, reader, book, AutoBookmark(page_number=2), "a")

    def move(user: UUID, on: UUID, page: int) -> bookmarks.AutoMove:
        return bookmarks.AutoMove(user, on, AutoBookmark(page_number=page), "phone")

    group = [move(reader, book, 5), move(other, book, 7), move(reader, hidden, 1),
             move(reader, book, 6)]  # fmt: skip
    async with pool.acquire() as conn:
        moved, made, refused, later = await bookmarks.set_auto_many(conn, group)
    assert isinstance(refused, NotFound)
    assert isinstance(moved, Written) and not moved.created
    assert moved.value.id == before.value.id and moved.value.page_number == 5
    assert isinstance(made, Written) and made.created and made.value.is_auto_bookmark
    assert made.value.title == "Reading Position - Emma"
    # the reader's second move of the book in the group came after the first
    assert isinstance(later, Written) and later.value.page_number == 6
    assert [e.event for e in moved.events + later.events] == ["bookmark.updated"] * 2
    assert [e.event for e in made.events] == ["bookmark.created"]
    assert await _seqs(pool, user_channel(reader)) == [1, 2, 3]
    assert [e.seq for e in moved.events + later.events] == [2, 3]
    total = await pool.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book)
    assert total == 2  # one auto bookmark per reader, each counted once
    page = await pool.fetchval(
        "SELECT page_number FROM bookmarks WHERE user_id = $1 AND is_auto_bookmark", reader
    )
    assert page == 6


async def test_deletes_of_every_kind_commit_in_one_group(pool: asyncpg.Pool, db: Any) -> None:
    """Highlights, bookmarks and annotations deleted in one group: each outcome its own,
    bookmark and highlight counters exact, a public annotation withdrawn from the book's
    channel, every event once and gapless."""
    owner, other = await make_user(db), await make_user(db)
    book = await make_book(db, owner, public=True)
    async with pool.acquire() as conn:
        (mark, theirs) = await bookmarks.create_many(
            conn, [_mark(owner, book, "a"), _mark(other, book, "b")]
        )
        (note,) = await annotation_ops.create_many(conn, [_note(owner, book, public=True)])
        (line,) = await highlights.create_many(conn, [_new(owner, book, public=True)])
    assert isinstance(mark, Written) and isinstance(theirs, Written)
    assert isinstance(note, Written) and isinstance(line, Written)
    assert await pool.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 2

    def gone(kind: changes.Kind, written: Any, by: UUID = owner) -> Change:
        return Change(kind, "delete", written.value.id, by, "phone")

    group = [gone(bookmarks.KIND, mark), gone(bookmarks.KIND, theirs),
             gone(annotation_ops.KIND, note), gone(highlights.KIND, line),
             gone(annotation_ops.KIND, note)]  # fmt: skip
    async with pool.acquire() as conn:
        outcomes = await changes.change_many(conn, group)

    unmarked, not_theirs, unnoted, unlined, again = outcomes
    assert isinstance(not_theirs, NotFound)  # another reader's bookmark is private to them
    assert isinstance(again, NotFound)
    assert isinstance(unmarked, Written) and isinstance(unnoted, Written)
    assert isinstance(unlined, Written)
    assert [w.value.id for w in (unmarked, unnoted, unlined)] == [
        mark.value.id, note.value.id, line.value.id
    ]  # fmt: skip
    counters = await pool.fetchrow(
        "SELECT total_bookmarks, total_highlights, community_highlights_count FROM books"
        " WHERE id = $1",
        book,
    )
    assert tuple(counters) == (1, 0, 0)  # type: ignore[arg-type]
    left = await pool.fetch(
        """SELECT 'bookmark' AS kind, id FROM bookmarks WHERE book_id = $1 AND deleted_at IS NULL
           UNION ALL SELECT 'annotation', id FROM annotations
                     WHERE book_id = $1 AND deleted_at IS NULL
           UNION ALL SELECT 'highlight', id FROM highlights
                     WHERE book_id = $1 AND deleted_at IS NULL""",
        book,
    )
    assert [(r["kind"], r["id"]) for r in left] == [("bookmark", theirs.value.id)]
    names = [(e.channel == book_channel(book), e.event)
             for w in (unmarked, unnoted, unlined) for e in w.events]  # fmt: skip
    assert names == [(False, "bookmark.deleted"), (False, "annotation.deleted"),
                     (True, "annotation.deleted"), (False, "highlight.deleted"),
                     (True, "highlight.deleted")]  # fmt: skip
    assert await _seqs(pool, user_channel(owner)) == list(range(1, 7))
    book_log = await pool.fetch(
        "SELECT event, data::text AS data FROM channel_events WHERE channel = $1 ORDER BY seq",
        book_channel(book),
    )
    # what the book's readers were told of the note and the highlight is redacted
    assert [r["event"] for r in book_log][-2:] == ["annotation.deleted", "highlight.deleted"]
    assert "Ishmael, again." not in str([r["data"] for r in book_log])


def _values(outcomes: list[Any]) -> list[Any]:
    assert all(isinstance(o, Written) for o in outcomes), outcomes
    return [o.value for o in outcomes]


async def test_updates_deletes_and_restores_of_every_kind_commit_in_one_group(
    pool: asyncpg.Pool, db: Any
) -> None:
    """One group of changes: each its own outcome (an invalid update and a change of
    another's item refused alone), counters moved by visibility changes and restores,
    a highlight made private withdrawn from the book's channel, the same annotation
    updated then deleted in order, a restore of a live item a no-op."""
    owner, other = await make_user(db), await make_user(db)
    book = await make_book(db, owner, public=True)
    async with pool.acquire() as conn:
        shown, hidden = _values(await highlights.create_many(
            conn, [_new(owner, book, public=True), _new(owner, book)]))  # fmt: skip
        theirs = (await highlights.create(conn, other, book, _highlight(uuid.uuid4()), None)).value
        await highlights.update(conn, other, theirs.id, msgspec.convert(
            {"public": True}, HighlightPatch), None)  # fmt: skip
        (mark,) = await bookmarks.create_many(conn, [_mark(owner, book, "a")])
        note, quiet = _values(await annotation_ops.create_many(
            conn, [_note(owner, book, public=True), _note(owner, book)]))  # fmt: skip
        assert isinstance(mark, Written)
        await bookmarks.delete(conn, owner, mark.value.id, None)
        await highlights.delete(conn, owner, hidden.id, None)
    assert await _counters(pool, book) == (2, 2)

    def change(kind: changes.Kind, op: changes.Op, item: Any, patch: dict[str, Any] | None = None,
               by: UUID = owner) -> Change:  # fmt: skip
        model = {highlights.KIND: HighlightPatch, annotation_ops.KIND: AnnotationPatch}
        typed = None if patch is None else msgspec.convert(patch, model[kind])
        return Change(kind, op, item.id, by, "phone", typed)

    drawing = {"drawing_data": {"width": 10, "height": 10, "strokes": []}}
    group = [
        change(highlights.KIND, "update", shown, {"public": False, "note": "mine now"}),
        change(highlights.KIND, "restore", hidden),
        change(bookmarks.KIND, "restore", mark.value),
        change(annotation_ops.KIND, "update", quiet, drawing),
        change(highlights.KIND, "update", theirs, {"note": "hijack"}),
        change(annotation_ops.KIND, "restore", quiet),
        change(annotation_ops.KIND, "update", note, {"content": "Ishmael, revised."}),
        change(annotation_ops.KIND, "delete", note),
    ]
    async with pool.acquire() as conn:
        outcomes = await changes.change_many(conn, group)

    private, back, marked, invalid, forbidden, live, revised, gone = outcomes
    assert isinstance(invalid, Invalid) and invalid.field == "drawing_data"
    assert isinstance(forbidden, Forbidden)
    assert isinstance(private, Written) and not private.value.public
    assert private.value.note == "mine now"
    assert isinstance(back, Written) and back.created and back.value.id == hidden.id
    assert isinstance(marked, Written) and marked.value.id == mark.value.id
    assert isinstance(live, Written) and not live.created and live.events == []
    assert isinstance(revised, Written) and revised.value.content == "Ishmael, revised."
    assert isinstance(gone, Written) and gone.value.id == note.id
    # two highlights of the owner live, one of them public no more; theirs still public
    assert await _counters(pool, book) == (3, 1)
    assert await pool.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 1
    assert await pool.fetchval(
        "SELECT note FROM highlights WHERE id = $1", theirs.id) is None  # fmt: skip
    assert await pool.fetchval(
        "SELECT drawing_data FROM annotations WHERE id = $1", quiet.id) is None  # fmt: skip
    names = [(e.channel == book_channel(book), e.event)
             for w in (private, back, marked, revised, gone) for e in w.events]  # fmt: skip
    assert names == [
        (False, "highlight.updated"), (True, "highlight.deleted"),
        (False, "highlight.created"), (False, "bookmark.created"),
        (False, "annotation.updated"), (True, "annotation.updated"),
        (False, "annotation.deleted"), (True, "annotation.deleted"),
    ]  # fmt: skip
    # the highlight made private: its past events on the book channel redacted
    book_log = await pool.fetch(
        "SELECT event, data FROM channel_events WHERE channel = $1 ORDER BY seq",
        book_channel(book),
    )
    assert str(shown.id) not in str(
        [r["data"] for r in book_log if r["event"] != "highlight.deleted"]
    )
    for channel in (user_channel(owner), book_channel(book)):
        seqs = await _seqs(pool, channel)
        assert seqs == list(range(1, len(seqs) + 1)), channel


async def test_grouped_updates_write_what_each_patch_sends_and_keep_the_rest(
    pool: asyncpg.Pool, db: Any
) -> None:
    """Updates of one group are one statement per kind: each row gets its own patch's
    fields (a sent null clears, an absent field stays), and what is returned is stored."""
    owner = await make_user(db)
    book = await make_book(db, owner)
    async with pool.acquire() as conn:
        red, plain = _values(await highlights.create_many(conn, [
            _new(owner, book, color="red", note="keep me", category="quote", tags=["a"]),
            _new(owner, book, position_data={"cfi": "/6/2"}),
        ]))  # fmt: skip
        (mark,) = _values(await bookmarks.create_many(
            conn, [_mark(owner, book, "a", title="Chapter", note="n", icon="star")]))  # fmt: skip
        (text,) = _values(await annotation_ops.create_many(
            conn, [_note(owner, book, tags=["x"])]))  # fmt: skip

    def update(kind: changes.Kind, item: Any, model: type, patch: dict[str, Any]) -> Change:
        return Change(kind, "update", item.id, owner, "a", msgspec.convert(patch, model))

    group = [
        update(highlights.KIND, red, HighlightPatch, {"category": None, "tags": ["b", "c"]}),
        update(highlights.KIND, plain, HighlightPatch,
               {"color": "blue", "position_data": {"cfi": "/6/8", "n": [1]}}),
        update(bookmarks.KIND, mark, BookmarkPatch, {"title": None, "page_number": 9}),
        update(annotation_ops.KIND, text, AnnotationPatch,
               {"content": "two words", "public": True}),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        after = _values(await changes.change_many(conn, group))
    stored: list[Any] = [
        await pool.fetchrow(f"SELECT * FROM {table} WHERE id = $1", item.id)
        for table, item in zip(["highlights", "highlights", "bookmarks", "annotations"],
                               after, strict=True)
    ]  # fmt: skip
    for value, row in zip(after, stored, strict=True):
        assert row is not None
        assert {f: getattr(value, f) for f in ("id", "updated_at")} == {
            "id": row["id"], "updated_at": row["updated_at"]}  # fmt: skip
    h_red, h_plain, b_mark, a_text = stored
    assert (h_red["color"], h_red["note"], h_red["category"], h_red["tags"]) == (
        "red", "keep me", None, ["b", "c"])  # fmt: skip
    assert h_red["color_hex"] == red.color_hex
    assert (h_plain["color"], h_plain["position_data"]) == ("blue", {"cfi": "/6/8", "n": [1]})
    assert h_plain["color_hex"] != plain.color_hex
    assert (b_mark["title"], b_mark["note"], b_mark["icon"], b_mark["page_number"]) == (
        None, "n", "star", 9)  # fmt: skip
    assert (a_text["content"], a_text["word_count"], a_text["public"], a_text["tags"]) == (
        "two words", 2, True, ["x"])  # fmt: skip
    assert a_text["plain_text_content"] == "two words"
    assert all(row["updated_at"] > v.created_at for row, v in zip(stored, after, strict=True))


async def test_a_failing_bookmark_takes_down_only_itself(pool: asyncpg.Pool, db: Any) -> None:
    owner = await make_user(db)
    book = await make_book(db, owner)
    # past the API's checks (built directly): the table's CHECK refuses the title
    bad = bookmarks.new_bookmark(owner, book, BookmarkCreate(title="x" * 300, page_number=1), "a")
    good, also_good = _mark(owner, book, "a"), _mark(owner, book, "b")
    async with pool.acquire() as conn:
        outcomes = await bookmarks.create_many(conn, [good, bad, also_good])
    assert isinstance(outcomes[1], asyncpg.CheckViolationError)
    assert [w.value.id for w in (outcomes[0], outcomes[2])] == [good.id, also_good.id]  # type: ignore[union-attr]
    ids = {r["id"] for r in await pool.fetch("SELECT id FROM bookmarks WHERE book_id = $1", book)}
    assert ids == {good.id, also_good.id}
    assert await _seqs(pool, user_channel(owner)) == [1, 2]  # the failed group left no seq
    assert await pool.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 2


def _note(user: UUID, book: UUID, **kw: Any) -> annotation_ops.NewAnnotation:
    base = {"annotation_type": "text", "content": "Ishmael, again.", "page_number": 1}
    return annotation_ops.new_annotation(
        user, book, msgspec.convert({**base, **kw}, AnnotationCreate), "dev"
    )


async def test_each_annotation_in_a_group_has_its_own_outcome(pool: asyncpg.Pool, db: Any) -> None:
    owner, other = await make_user(db), await make_user(db)
    shared = await make_book(db, owner, public=True)
    hidden = await make_book(db, other)
    async with pool.acquire() as conn:
        mine = await highlights.create(conn, owner, shared, _highlight(uuid.uuid4()), None)
        theirs = await highlights.create(conn, other, shared, _highlight(uuid.uuid4()), None)
    taken, twice = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        before = AnnotationCreate(id=taken, annotation_type="text", content="x", page_number=1)
        await annotation_ops.create(conn, other, shared, before, None)
    group = [
        _note(owner, shared, public=True, highlight_id=str(mine.value.id), tags=["a"]),
        _note(owner, shared, highlight_id=str(theirs.value.id)),  # not the owner's
        _note(owner, hidden),
        _note(owner, shared, id=str(twice), content="made"),
        _note(owner, shared, id=str(twice), content="a retry in the same group"),
        _note(owner, shared, id=str(taken)),
        _note(owner, shared, annotation_type="drawing", content=None,
              drawing_data={"width": 10, "height": 10,
                            "strokes": [{"points": [[0, 0], [1, 1]]}]}),
    ]  # fmt: skip
    async with pool.acquire() as conn:
        outcomes = await annotation_ops.create_many(conn, group)

    public, unlinked, refused, made, retry, clash, drawing = outcomes
    assert isinstance(unlinked, NotFound) and "highlight or bookmark" in str(unlinked)
    assert isinstance(refused, NotFound) and "book" in str(refused)
    assert isinstance(clash, Conflict)
    assert isinstance(retry, Written) and not retry.created and retry.value.content == "made"
    assert isinstance(public, Written) and public.value.tags == ["a"]
    assert public.value.highlight_id == mine.value.id
    assert isinstance(drawing, Written) and drawing.value.drawing_data is not None
    created = [public, made, drawing]
    events = [e for w in created for e in w.events]  # type: ignore[union-attr]
    # the owner's channel: after the highlight's event, one per annotation, in order;
    # the book's: the public highlight made before (none), then the public annotation
    own = [(e.seq, e.event) for e in events if e.channel == user_channel(owner)]
    assert own == [(2, "annotation.created"), (3, "annotation.created"),
                   (4, "annotation.created")]  # fmt: skip
    assert await _seqs(pool, user_channel(owner)) == [1, 2, 3, 4]
    on_book = [e for e in events if e.channel == book_channel(shared)]
    assert [e.event for e in on_book] == ["annotation.created"]
    assert [e.seq for e in on_book] == await _seqs(pool, book_channel(shared))
    stored = await pool.fetchval(
        "SELECT data FROM channel_events WHERE channel = $1 AND seq = $2",
        book_channel(shared), on_book[0].seq,
    )  # fmt: skip
    assert stored == msgspec.json.decode(bytes(on_book[0].data))
    assert await pool.fetchval(
        "SELECT count(*) FROM annotations WHERE user_id = $1", owner
    ) == 3  # fmt: skip


async def test_sessions_start_and_end_in_groups(pool: asyncpg.Pool, db: Any) -> None:
    reader, other = await make_user(db), await make_user(db)
    book = await make_book(db, reader)
    hidden = await make_book(db, other)
    taken, twice = uuid.uuid4(), uuid.uuid4()
    async with pool.acquire() as conn:
        await sessions.start(conn, other, hidden, SessionStart(id=taken), "x")

    def starting(user: UUID, on: UUID, **kw: Any) -> sessions.NewSession:
        return sessions.new_session(user, on, SessionStart(**kw), "phone")

    group = [
        starting(reader, book, start_page=3, device_type="phone"),
        starting(reader, hidden),
        starting(reader, book, id=twice, start_page=10),
        starting(reader, book, id=twice, start_page=99),  # a retry in the same group
        starting(reader, book, id=taken),
    ]
    async with pool.acquire() as conn:
        first, refused, made, retry, clash = await sessions.start_many(conn, group)
    assert isinstance(refused, NotFound) and isinstance(clash, Conflict)
    assert isinstance(first, Written) and first.created and first.value.start_page == 3
    assert isinstance(made, Written) and made.created
    assert isinstance(retry, Written) and not retry.created and retry.value.start_page == 10
    assert [e.seq for w in (first, made) for e in w.events] == [1, 2]

    # both of the reader's sessions end in one group, with a stranger's end and a retry
    ends = [
        sessions.Ending(first.value.id, reader, SessionEnd(end_page=13, words_read=600), "a"),
        sessions.Ending(taken, reader, SessionEnd(end_page=5), "a"),  # not the reader's
        sessions.Ending(made.value.id, reader, SessionEnd(end_page=12), "b"),
        sessions.Ending(made.value.id, reader, SessionEnd(end_page=50), "b"),  # a retry
    ]
    async with pool.acquire() as conn:
        done, stranger, other_done, again = await sessions.end_many(conn, ends)
    assert isinstance(stranger, NotFound)
    assert isinstance(done, Written) and done.value.ended_at is not None
    assert (done.value.end_page, done.value.pages_read, done.value.words_read) == (13, 10, 600)
    assert isinstance(other_done, Written) and other_done.value.pages_read == 2
    assert isinstance(again, Written) and not again.created and again.value.end_page == 12
    assert [(e.seq, e.event, e.origin) for w in (done, other_done) for e in w.events] == [
        (3, "session.ended", "a"), (4, "session.ended", "b")]  # fmt: skip
    assert await _seqs(pool, user_channel(reader)) == [1, 2, 3, 4]
    # both rolled into the reader's progress on the book, once each
    rolled = await pool.fetchval(
        "SELECT total_sessions FROM reading_progress WHERE user_id = $1 AND book_id = $2",
        reader, book,
    )  # fmt: skip
    assert rolled == 2
    assert await pool.fetchval(
        "SELECT count(*) FROM reading_sessions WHERE id = ANY($1::uuid[])", [twice, taken]
    ) == 2  # fmt: skip


async def test_concurrent_starts_of_one_id_make_one_session(pool: asyncpg.Pool, db: Any) -> None:
    reader = await make_user(db)
    book = await make_book(db, reader)
    ids = [uuid.uuid4() for _ in range(6)]

    async def group(order: list[UUID]) -> list[Any]:
        news = [sessions.new_session(reader, book, SessionStart(id=i), "d") for i in order]
        async with pool.acquire() as conn:
            return await sessions.start_many(conn, news)

    outcomes = await asyncio.gather(*(group(random.sample(ids, len(ids))) for _ in range(4)))
    made = [w for o in outcomes for w in o if isinstance(w, Written) and w.created]
    assert sorted(w.value.id for w in made) == sorted(ids)  # each id started exactly once
    assert all(isinstance(w, Written) for o in outcomes for w in o)
    assert await pool.fetchval(
        "SELECT count(*) FROM reading_sessions WHERE user_id = $1", reader
    ) == 6  # fmt: skip
    assert await _seqs(pool, user_channel(reader)) == list(range(1, 7))


async def test_concurrent_submits_commit_in_groups(pool: asyncpg.Pool, db: Any) -> None:
    owner = await make_user(db)
    book = await make_book(db, owner, public=True)
    sizes: list[int] = []

    async def counting(conn: Any, items: list[NewHighlight]) -> list[Any]:
        sizes.append(len(items))
        return await highlights.create_many(conn, items)

    writes = GroupCommit(pool, counting, max_size=16)
    news = [_new(owner, book, public=i % 2 == 0) for i in range(40)]
    results = await asyncio.gather(*(writes.submit(n) for n in news))
    await writes.close()

    assert sum(sizes) == 40 and max(sizes) > 1 and max(sizes) <= 16
    assert len(sizes) < 40  # grouped, not one transaction each
    assert [r.value.id for r in results] == [n.highlight.id for n in news]
    assert await _seqs(pool, user_channel(owner)) == list(range(1, 41))
    assert await _seqs(pool, book_channel(book)) == list(range(1, 21))  # the 20 public ones
    assert await _counters(pool, book) == (40, 20)


async def test_groups_and_single_writes_never_deadlock(pool: asyncpg.Pool, db: Any) -> None:
    """Groups over shared books and channels, in shuffled orders, beside single and
    grouped deletes and visibility changes that lock highlights, their books and the
    channels: all finish, counters exact."""
    users = [await make_user(db) for _ in range(6)]
    books = [await make_book(db, users[0], public=True) for _ in range(8)]
    rng = random.Random(7)
    made: list[Written[Any]] = []

    async def groups() -> None:
        for _ in range(10):
            group = [_new(rng.choice(users), rng.choice(books), public=rng.random() < 0.7)
                     for _ in range(5)]  # fmt: skip
            async with pool.acquire() as conn:
                outcomes = await highlights.create_many(conn, group)
            assert all(isinstance(o, Written) for o in outcomes), outcomes
            made.extend(outcomes)  # type: ignore[arg-type]

    deleted = 0

    async def deletes(grouped: bool) -> None:
        """Single deletes, or groups of up to three (over shuffled books)."""
        nonlocal deleted
        for _ in range(30):
            await asyncio.sleep(0.005)
            victims = [made.pop(rng.randrange(len(made)))
                       for _ in range(rng.randint(1, 3) if grouped else 1) if made]  # fmt: skip
            if not victims:
                continue
            async with pool.acquire() as conn:
                outcomes = await changes.change_many(conn, [
                    Change(highlights.KIND, "delete", v.value.id, v.value.user_id, None)
                    for v in victims
                ])  # fmt: skip
            assert all(isinstance(o, Written) for o in outcomes), outcomes
            deleted += len(victims)

    toggled = 0

    async def toggles() -> None:
        """Groups of up to three highlights made public or private (some deleted
        meanwhile: not found), moving the community counters."""
        nonlocal toggled
        for _ in range(30):
            await asyncio.sleep(0.005)
            picked = rng.sample(made, min(len(made), rng.randint(1, 3)))
            async with pool.acquire() as conn:
                outcomes = await changes.change_many(conn, [Change(
                    highlights.KIND, "update", w.value.id, w.value.user_id, None,
                    HighlightPatch(public=rng.random() < 0.5)) for w in picked])  # fmt: skip
            assert all(isinstance(o, Written | NotFound) for o in outcomes), outcomes
            toggled += sum(isinstance(o, Written) for o in outcomes)

    async with asyncio.timeout(60):
        await asyncio.gather(*(groups() for _ in range(6)), deletes(False), deletes(True),
                             toggles())  # fmt: skip
    assert deleted > 0 and toggled > 0
    for book in books:
        live = await pool.fetchrow(
            """SELECT count(*) AS total, count(*) FILTER (WHERE public) AS community
               FROM highlights WHERE book_id = $1 AND deleted_at IS NULL""",
            book,
        )
        assert live is not None
        assert await _counters(pool, book) == (live["total"], live["community"])
    for channel in [user_channel(u) for u in users] + [book_channel(b) for b in books]:
        seqs = await _seqs(pool, channel)
        assert seqs == list(range(1, len(seqs) + 1)), channel


async def test_a_group_that_fails_fails_each_of_its_writes_only(
    pool: asyncpg.Pool, db: Any
) -> None:
    """A group whose transaction breaks (here: the connection reset under it) answers
    each of its writers with the error, stores nothing of it, and the next group runs."""
    owner = await make_user(db)
    book = await make_book(db, owner)
    broken = True

    async def run(conn: Any, items: list[NewHighlight]) -> list[Any]:
        nonlocal broken
        if broken:
            broken = False
            raise ConnectionResetError("connection lost")
        return await highlights.create_many(conn, items)

    writes = GroupCommit(pool, run, in_flight=1)
    lost = [_new(owner, book) for _ in range(3)]
    outcomes = await asyncio.gather(*(writes.submit(n) for n in lost), return_exceptions=True)
    assert all(isinstance(o, ConnectionResetError) for o in outcomes)
    kept = await writes.submit(_new(owner, book))
    await writes.close()
    assert kept.created
    ids = {r["id"] for r in await db.fetch("SELECT id FROM highlights WHERE book_id = $1", book)}
    assert ids == {kept.value.id}


def _move(user: UUID, book: UUID, offset: int | None, fraction: float,
          device: str | None = "dev") -> progress.ProgressWrite:  # fmt: skip
    cmd = ProgressUpdate(current_page=1, current_character_offset=offset,
                         progress_percentage=fraction, device=device)  # fmt: skip
    return progress.ProgressWrite(user, book, cmd, device)


async def test_progress_updates_in_a_group_apply_in_order_each_with_its_outcome(
    pool: asyncpg.Pool, db: Any
) -> None:
    reader, owner = await make_user(db), await make_user(db)
    mine = await make_book(db, reader)
    theirs = await make_book(db, owner)  # private: not the reader's to read
    group = [
        _move(reader, mine, 500, 0.5),
        _move(reader, theirs, 10, 0.1),  # refused alone
        _move(reader, mine, 200, 0.2, device="phone"),  # a step back: latest, not furthest
        _move(reader, mine, 300, 0.3, device=None),  # no device: refused alone
    ]
    async with pool.acquire() as conn:
        outcomes = await progress.update_many(conn, group)
    assert isinstance(outcomes[0], Written) and isinstance(outcomes[2], Written)
    assert isinstance(outcomes[1], NotFound) and isinstance(outcomes[3], Invalid)
    async with pool.acquire() as conn:
        view, _ = await progress.view(conn, reader, mine)
    assert view.latest is not None and view.furthest is not None
    assert (view.latest.current_character_offset, view.latest.device) == (200, "phone")
    assert view.furthest.current_character_offset == 500
    assert sorted(d.device or "" for d in view.devices) == ["dev", "phone"]
    channel = user_channel(reader)
    assert [e.seq for o in outcomes if isinstance(o, Written) for e in o.events] == [1, 2]
    assert await _seqs(pool, channel) == [1, 2]


async def test_concurrent_progress_submits_commit_in_groups_and_the_last_one_wins(
    pool: asyncpg.Pool, db: Any
) -> None:
    readers = [await make_user(db) for _ in range(3)]
    books = {r: [await make_book(db, r) for _ in range(2)] for r in readers}
    sizes: list[int] = []

    async def counting(conn: Any, items: list[progress.ProgressWrite]) -> list[Any]:
        sizes.append(len(items))
        return await progress.update_many(conn, items)

    writes = GroupCommit(pool, counting, in_flight=1)
    moves = [_move(r, books[r][i % 2], i, i / 100) for i in range(60) for r in readers]
    random.Random(7).shuffle(moves)
    done = await asyncio.gather(*(writes.submit(m) for m in moves))
    await writes.close()
    assert all(isinstance(d, Written) for d in done)
    assert sum(sizes) == 60 * 3 and len(sizes) < 60 * 3  # grouped
    for r in readers:  # in submission order, per book: the last submitted is the latest
        for book in books[r]:
            last = [m for m in moves if m.user_id == r and m.book_id == book][-1]
            async with pool.acquire() as conn:
                view, _ = await progress.view(conn, r, book)
            assert view.latest is not None
            assert view.latest.current_character_offset == last.cmd.current_character_offset
        assert await _seqs(pool, user_channel(r)) == list(range(1, 61))


async def test_a_write_submitted_right_after_another_is_not_left_waiting(
    pool: asyncpg.Pool, db: Any
) -> None:
    """One after another, with one group in flight: the next write comes while the
    previous group's task is finishing (the writes of one socket arrive this way)."""
    reader = await make_user(db)
    book = await make_book(db, reader)
    writes = GroupCommit(pool, progress.update_many, in_flight=1)
    async with asyncio.timeout(20):
        for i in range(20):
            assert isinstance(await writes.submit(_move(reader, book, i, i / 100)), Written)
    await writes.close()
    assert await _seqs(pool, user_channel(reader)) == list(range(1, 21))


async def test_a_statement_that_goes_with_an_update_commits_with_it_or_not_at_all(
    pool: asyncpg.Pool, db: Any
) -> None:
    """KOReader's own position string rides with its progress update (domain/kosync):
    stored when the update is, not when the update is refused, and a statement that
    fails takes only its own update down."""
    reader, owner = await make_user(db), await make_user(db)
    mine, theirs = await make_book(db, reader), await make_book(db, owner)
    note = "INSERT INTO kosync_progress (user_id, document, progress, percentage, device, updated_at) VALUES ($1, $2, 'p', 0.5, 'kobo', now())"  # noqa: E501

    def riding(book: UUID, document: str, offset: int) -> progress.ProgressWrite:
        move = _move(reader, book, offset, offset / 1000)
        return progress.ProgressWrite(move.user_id, move.book_id, move.cmd, move.origin,
                                      with_it=(note, (reader, document)))  # fmt: skip

    group = [
        riding(mine, "a" * 32, 100),
        riding(theirs, "b" * 32, 200),  # the book is not the reader's: neither is stored
        riding(mine, "a" * 32, 300),  # the same document again: its statement fails
        _move(reader, mine, 400, 0.4),
    ]
    async with pool.acquire() as conn:
        outcomes = await progress.update_many(conn, group)
    assert isinstance(outcomes[0], Written) and isinstance(outcomes[3], Written)
    assert isinstance(outcomes[1], NotFound)
    assert isinstance(outcomes[2], asyncpg.UniqueViolationError)
    documents = await pool.fetch("SELECT document FROM kosync_progress WHERE user_id = $1", reader)
    assert [r["document"] for r in documents] == ["a" * 32]
    async with pool.acquire() as conn:
        view, _ = await progress.view(conn, reader, mine)
    assert view.latest is not None and view.latest.current_character_offset == 400
    assert await _seqs(pool, user_channel(reader)) == [1, 2]  # the failed one left no event


async def test_bookmark_groups_moves_and_deletes_never_deadlock(
    pool: asyncpg.Pool, db: Any
) -> None:
    """Auto bookmark moves (rows, then books), bookmark and highlight creates (books
    first) in groups, beside single moves and grouped deletes (rows, then books), over
    shared books and readers: all finish, and each book counts its live bookmarks."""
    users = [await make_user(db) for _ in range(5)]
    books = [await make_book(db, users[0], public=True) for _ in range(5)]
    rng = random.Random(11)
    live: list[tuple[UUID, UUID]] = []  # (bookmark, its reader)

    def move() -> bookmarks.AutoMove:
        page = rng.randrange(1, 300)
        cmd = AutoBookmark(page_number=page)
        return bookmarks.AutoMove(rng.choice(users), rng.choice(books), cmd, "d")

    async def groups() -> None:
        for i in range(8):
            async with pool.acquire() as conn:
                outcomes: list[Any]
                if i % 3 == 0:
                    outcomes = await bookmarks.set_auto_many(conn, [move() for _ in range(6)])
                elif i % 3 == 1:
                    news = [_mark(rng.choice(users), rng.choice(books), "d") for _ in range(4)]
                    outcomes = await bookmarks.create_many(conn, news)
                else:
                    outcomes = await highlights.create_many(
                        conn, [_new(rng.choice(users), rng.choice(books)) for _ in range(4)]
                    )
            assert all(isinstance(o, Written) for o in outcomes), outcomes
            rows = await pool.fetch("SELECT id, user_id FROM bookmarks WHERE deleted_at IS NULL")
            live[:] = [(r["id"], r["user_id"]) for r in rows]

    async def singles() -> None:
        for _ in range(25):
            await asyncio.sleep(0.003)
            async with pool.acquire() as conn:
                if live and rng.random() < 0.6:
                    picked = [live.pop(rng.randrange(len(live)))
                              for _ in range(rng.randint(1, 3)) if live]  # fmt: skip
                    # a group's next move may revive one: NotFound, or gone
                    await changes.change_many(conn, [
                        Change(bookmarks.KIND, "delete", mark, reader, None)
                        for mark, reader in picked
                    ])  # fmt: skip
                else:
                    m = move()
                    await bookmarks.set_auto(conn, m.user_id, m.book_id, m.cmd, None)

    async with asyncio.timeout(60):
        await asyncio.gather(*(groups() for _ in range(4)), singles(), singles())
    for book in books:
        row = await pool.fetchrow(
            """SELECT b.total_bookmarks, (SELECT count(*) FROM bookmarks k
                                          WHERE k.book_id = b.id AND k.deleted_at IS NULL)
               FROM books b WHERE b.id = $1""",
            book,
        )
        assert row is not None and row[0] == row[1]
