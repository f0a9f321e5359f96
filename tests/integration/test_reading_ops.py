"""Reading and annotation operations on a real PostgreSQL: rows, counters and the events
committed with them (each test rolled back)."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import asyncpg
import msgspec
import pytest

from domain import events as ev
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.reading import annotations as annotation_ops
from domain.reading import bookmarks, highlights, progress, sessions
from domain.reading.models import (
    AnnotationCreate,
    AnnotationPatch,
    AutoBookmark,
    BookmarkCreate,
    HighlightCreate,
    HighlightPatch,
    ProgressUpdate,
    SessionEnd,
    SessionStart,
)
from domain.writes import Written
from tests.factories import make_book, make_user


def _hl(**kw: object) -> HighlightCreate:
    base: dict[str, object] = {
        "selected_text": "It is a truth universally acknowledged",
        "page_number": 1,
        "start_offset": 10,
        "end_offset": 48,
    }
    return msgspec.convert({**base, **kw}, HighlightCreate)


def _names(written: Written[Any]) -> list[tuple[str, str, int]]:
    return [(e.channel.split(":")[0], e.event, e.seq) for e in written.events]


async def test_highlight_lifecycle_events_and_counters(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    book = await make_book(conn, owner, public=True)
    private = await highlights.create(conn, owner, book, _hl(), "ipad")
    assert _names(private) == [("user", "highlight.created", 1)]
    assert private.value.color_hex == "#FEF3C7"
    assert private.value.word_count == 6
    public = await highlights.create(conn, owner, book, _hl(public=True, color="blue"), "ipad")
    assert _names(public) == [("user", "highlight.created", 2), ("book", "highlight.created", 1)]
    assert all(e.origin == "ipad" for e in public.events)
    counts = await conn.fetchrow(
        "SELECT total_highlights, community_highlights_count FROM books WHERE id = $1", book
    )
    assert counts is not None
    assert tuple(counts) == (2, 1)

    hidden = await highlights.update(
        conn, owner, public.value.id, HighlightPatch(public=False), None
    )
    assert _names(hidden) == [("user", "highlight.updated", 3), ("book", "highlight.deleted", 2)]
    # the counters are announced apart (coalesced by the server), as committed then
    (stats,) = await highlights.announce_stats(conn, [book])
    assert (stats.channel, stats.event, stats.seq, stats.origin) == (
        f"book:{book}",
        "book.stats",
        3,
        None,
    )
    assert msgspec.json.decode(bytes(stats.data)) == {
        "book_id": str(book), "community_highlights_count": 0, "total_highlights": 2
    }  # fmt: skip
    gone = await highlights.delete(conn, owner, private.value.id, "phone")
    assert _names(gone) == [("user", "highlight.deleted", 4)]
    counts = await conn.fetchrow(
        "SELECT total_highlights, community_highlights_count FROM books WHERE id = $1", book
    )
    assert counts is not None
    assert tuple(counts) == (1, 0)
    assert await conn.fetchval("SELECT deleted_at FROM highlights WHERE id = $1", private.value.id)
    with pytest.raises(NotFound):
        await highlights.delete(conn, owner, private.value.id, None)


async def test_client_ids_make_creates_idempotent(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    other = await make_user(conn)
    book = await make_book(conn, owner, public=True)
    hid = uuid.uuid4()
    first = await highlights.create(conn, owner, book, _hl(id=hid), None)
    again = await highlights.create(conn, owner, book, _hl(id=hid, note="changed"), None)
    assert first.created and not again.created
    assert again.events == [] and again.value.id == hid and again.value.note is None
    assert await conn.fetchval("SELECT count(*) FROM highlights") == 1
    assert await conn.fetchval("SELECT count(*) FROM channel_events") == 1
    with pytest.raises(Conflict):
        await highlights.create(conn, other, book, _hl(id=hid), None)


async def test_other_users_objects_are_hidden_or_forbidden(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    reader = await make_user(conn)
    private_book = await make_book(conn, owner)
    public_book = await make_book(conn, owner, public=True)
    with pytest.raises(NotFound):
        await highlights.create(conn, reader, private_book, _hl(), None)
    mine = await highlights.create(conn, owner, public_book, _hl(), None)
    shared = await highlights.create(conn, owner, public_book, _hl(public=True), None)
    with pytest.raises(NotFound):  # private: its existence is not revealed
        await highlights.update(conn, reader, mine.value.id, HighlightPatch(note="x"), None)
    with pytest.raises(Forbidden):  # public: visible, not theirs
        await highlights.delete(conn, reader, shared.value.id, None)
    # a reader of a public book keeps highlights of their own on it
    theirs = await highlights.create(conn, reader, public_book, _hl(), None)
    assert theirs.value.user_id == reader
    page, heads = await highlights.list_for_book(
        conn, reader, public_book, public=True, cursor=None, limit=10
    )
    assert [h.id for h in page.items] == [shared.value.id]
    assert heads == {f"book:{public_book}": 1}


async def test_span_and_validation(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    book = await make_book(conn, owner)
    with pytest.raises(Invalid) as exc:
        await highlights.create(conn, owner, book, _hl(start_offset=50, end_offset=10), None)
    assert exc.value.field == "end_offset"
    with pytest.raises(msgspec.ValidationError, match=r"\$\.color"):
        msgspec.convert({"selected_text": "x", "page_number": 1, "start_offset": 0,
                         "end_offset": 1, "color": "teal"}, HighlightCreate)  # fmt: skip


async def test_listing_pages_newest_first(conn: asyncpg.Connection) -> None:
    owner = await make_user(conn)
    book = await make_book(conn, owner)
    made = []
    for i in range(5):
        made.append((await highlights.create(conn, owner, book, _hl(note=str(i)), None)).value.id)
        await conn.execute("SELECT pg_sleep(0.002)")
    # one transaction: created_at is the same for all, so the id breaks the tie
    seen = []
    cursor = None
    while True:
        page, heads = await highlights.list_for_book(
            conn, owner, book, public=False, cursor=cursor, limit=2
        )
        seen += [h.id for h in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    assert heads[f"user:{owner}"] == 5


async def test_progress_latest_furthest_and_devices(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    book = await make_book(conn, user)

    def at(page: int, offset: int, pct: float, device: str) -> ProgressUpdate:
        return ProgressUpdate(current_page=page, current_character_offset=offset,
                              progress_percentage=pct, device=device)  # fmt: skip

    await progress.update(conn, user, book, at(10, 5000, 0.10, "phone"), None)
    await progress.update(conn, user, book, at(50, 25000, 0.50, "ipad"), None)
    back = await progress.update(conn, user, book, at(20, 10000, 0.20, "phone"), "phone")
    assert back.events[0].event == ev.PROGRESS_UPDATED
    view, heads = await progress.view(conn, user, book)
    assert view.latest is not None and view.furthest is not None
    assert (view.latest.current_page, view.latest.device) == (20, "phone")
    assert view.furthest.current_character_offset == 25000
    assert {d.device: d.current_page for d in view.devices} == {"phone": 20, "ipad": 50}
    assert heads == {f"user:{user}": 3}
    reset = await progress.reset_furthest(conn, user, book)
    assert reset.furthest is not None and reset.furthest.current_character_offset == 10000
    with pytest.raises(Invalid):
        await progress.update(
            conn, user, book, ProgressUpdate(current_page=1, progress_percentage=0.0), None
        )
    done = await progress.update(conn, user, book, at(300, 99000, 0.995, "ipad"), None)
    assert done.value.progress_percentage == 0.995
    assert await conn.fetchval("SELECT completed FROM reading_progress WHERE user_id = $1", user)


async def test_progress_furthest_survives_racing_devices(pool: asyncpg.Pool) -> None:
    """Updates from many devices at once, in no order: the furthest position is the
    furthest one sent, every update has its event, and no other reader's private book
    takes any."""
    async with pool.acquire() as db:
        user, stranger = await make_user(db), await make_user(db)
        book, private = await make_book(db, user), await make_book(db, stranger)
    offsets = list(range(1000, 41000, 1000))
    random.Random(3).shuffle(offsets)

    async def send(offset: int) -> None:
        cmd = ProgressUpdate(current_page=offset // 1000, current_character_offset=offset,
                             progress_percentage=offset / 100000, device=f"d{offset}")  # fmt: skip
        async with pool.acquire() as db:
            await progress.update(db, user, book, cmd, None)

    await asyncio.gather(*(send(o) for o in offsets))
    async with pool.acquire() as db:
        view, heads = await progress.view(db, user, book)
        assert view.furthest is not None and view.furthest.current_character_offset == 40000
        assert len(view.devices) == 40 and heads == {f"user:{user}": 40}
        seqs = [
            r["seq"]
            for r in await db.fetch(
                "SELECT seq FROM channel_events WHERE channel = $1 ORDER BY seq", f"user:{user}"
            )
        ]
        assert seqs == list(range(1, 41))
        with pytest.raises(NotFound):
            await progress.update(db, user, private, ProgressUpdate(
                current_page=1, progress_percentage=0.1, device="phone"), None)  # fmt: skip
        assert (
            await db.fetchval("SELECT count(*) FROM reading_progress WHERE book_id = $1", private)
            == 0
        )
        assert (
            await db.fetchval("SELECT count(*) FROM reading_positions WHERE book_id = $1", private)
            == 0
        )
        assert (await progress.view(db, user, book))[1] == {f"user:{user}": 40}


async def test_sessions_compute_and_roll_up(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    book = await make_book(conn, user)
    sid = uuid.uuid4()
    started = await sessions.start(conn, user, book, SessionStart(id=sid, start_page=10), "ipad")
    retried = await sessions.start(conn, user, book, SessionStart(id=sid, start_page=99), "ipad")
    assert not retried.created and retried.value.start_page == 10
    await conn.execute(
        "UPDATE reading_sessions SET started_at = started_at - interval '10 minutes' WHERE id = $1",
        sid,
    )
    ended = await sessions.end(conn, user, sid, SessionEnd(end_page=30, words_read=2500), "ipad")
    s = ended.value
    assert s.pages_read == 20
    assert s.duration_seconds is not None and 599 <= s.duration_seconds <= 602
    assert s.reading_speed_wpm == pytest.approx(250, rel=0.01)
    assert [e.event for e in started.events + ended.events] == ["session.started", "session.ended"]
    again = await sessions.end(conn, user, sid, SessionEnd(end_page=31, words_read=1), None)
    assert not again.created and again.value.end_page == 30
    totals = await conn.fetchrow(
        "SELECT total_sessions, total_time_spent_seconds FROM reading_progress WHERE user_id = $1",
        user,
    )
    assert totals is not None
    assert (
        totals["total_sessions"] == 1 and totals["total_time_spent_seconds"] == s.duration_seconds
    )
    other = await make_user(conn)
    with pytest.raises(NotFound):
        await sessions.end(conn, other, sid, SessionEnd(end_page=1), None)


async def test_bookmarks_and_the_single_auto_bookmark(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    book = await make_book(conn, user, title="Emma")
    manual = await bookmarks.create(
        conn, user, book, BookmarkCreate(page_number=4, title="ch"), None
    )
    assert manual.value.category == "manual"
    first = await bookmarks.set_auto(conn, user, book, AutoBookmark(page_number=7), None)
    moved = await bookmarks.set_auto(conn, user, book, AutoBookmark(page_number=9), None)
    assert first.created and not moved.created
    assert first.value.id == moved.value.id and moved.value.page_number == 9
    assert moved.value.title == "Reading Position - Emma"
    assert [e.event for e in moved.events] == ["bookmark.updated"]
    assert await conn.fetchval("SELECT total_bookmarks FROM books WHERE id = $1", book) == 2
    page, _ = await bookmarks.list_for_book(conn, user, book, cursor=None, limit=10)
    assert len(page.items) == 2
    # a book's title may be 500 characters; the auto bookmark's title fits its 200 (the
    # fuzzer found a 500 here)
    long_book = await make_book(conn, user, title="T" * 500)
    long = await bookmarks.set_auto(conn, user, long_book, AutoBookmark(page_number=1), None)
    assert long.value.title is not None and len(long.value.title) == 200


async def test_annotations_plain_text_search_and_links(conn: asyncpg.Connection) -> None:
    user = await make_user(conn)
    other = await make_user(conn)
    book = await make_book(conn, user, public=True)
    hl = await highlights.create(conn, user, book, _hl(), None)
    note = await annotation_ops.create(
        conn, user, book,
        AnnotationCreate(annotation_type="text", content="<p>The <b>whale</b> &amp; the sea</p>",
                         page_number=3, highlight_id=hl.value.id, public=True),
        "web",
    )  # fmt: skip
    assert note.value.plain_text_content == "The whale & the sea"
    assert note.value.word_count == 5
    assert [(e.channel.split(":")[0], e.event) for e in note.events] == [
        ("user", "annotation.created"), ("book", "annotation.created")
    ]  # fmt: skip
    voice = await annotation_ops.create(
        conn, user, book,
        AnnotationCreate(annotation_type="voice", content="{}", page_number=3,
                         audio_transcript="remember the harpoon"),
        None,
    )  # fmt: skip
    assert voice.value.plain_text_content == "remember the harpoon"
    found, _ = await annotation_ops.list_for_book(
        conn, user, book, query="whales", cursor=None, limit=5
    )
    assert [a.id for a in found.items] == [note.value.id]
    private = await annotation_ops.update(
        conn, user, note.value.id, AnnotationPatch(public=False), None
    )
    assert [e.event for e in private.events] == ["annotation.updated", "annotation.deleted"]
    other_hl = await highlights.create(conn, other, book, _hl(), None)
    with pytest.raises(NotFound):
        await annotation_ops.create(
            conn, user, book,
            AnnotationCreate(annotation_type="text", content="x", page_number=1,
                             highlight_id=other_hl.value.id),
            None,
        )  # fmt: skip


async def test_concurrent_writes_get_gapless_seqs(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as c:
        owner = await make_user(c)
        book = await make_book(c, owner, public=True)

    async def write(i: int) -> list[int]:
        async with pool.acquire() as c:
            w = await highlights.create(c, owner, book, _hl(public=i % 2 == 0), None)
            return [e.seq for e in w.events if e.channel.startswith("user")]

    async def announce() -> list[int]:  # the counters, announced amid the writes
        async with pool.acquire() as c:
            return [e.seq for e in await highlights.announce_stats(c, [book])]

    done = await asyncio.gather(*(write(i) for i in range(40)), *(announce() for _ in range(5)))
    seqs = sorted(s for r in done[:40] for s in r)
    assert seqs == list(range(1, 41))
    rows = await pool.fetch(
        "SELECT seq, event FROM channel_events WHERE channel = $1 ORDER BY seq", f"book:{book}"
    )
    assert [r["seq"] for r in rows] == list(range(1, 26))  # 20 public, 5 announcements
    assert sorted(s for r in done[40:] for s in r) == [
        r["seq"] for r in rows if r["event"] == "book.stats"
    ]


async def test_a_highlight_lands_in_the_chapter_holding_its_offset(
    conn: asyncpg.Connection,
) -> None:
    user = await make_user(conn)
    book = await make_book(conn, user, public=True)
    insert = """INSERT INTO book_chapters (book_id, chapter_number, title, content,
                    start_offset, end_offset) VALUES ($1, $2, 'c', 'x', $3, $4) RETURNING id"""
    spans = [(0, 100), (102, 300)]
    chapters = [await conn.fetchval(insert, book, n, a, b) for n, (a, b) in enumerate(spans, 1)]
    made = await highlights.create(conn, user, book, _hl(start_offset=150, end_offset=160,
                                                        public=True), "phone")  # fmt: skip
    assert made.value.book_chapter_id == chapters[1]
    stored = await conn.fetchval("SELECT book_chapter_id FROM highlights WHERE id = $1",
                                 made.value.id)  # fmt: skip
    assert stored == chapters[1]
    for event in made.events[:2]:  # the user's and the book's highlight.created
        assert msgspec.json.decode(event.data)["book_chapter_id"] == str(chapters[1])
    logged = await conn.fetch("SELECT data FROM channel_events WHERE channel = ANY($1)",
                              [f"user:{user}", f"book:{book}"])  # fmt: skip
    datas = [msgspec.json.decode(r["data"]) if isinstance(r["data"], str) else r["data"]
             for r in logged]  # fmt: skip
    assert [d.get("book_chapter_id") for d in datas if "selected_text" in d] == [
        str(chapters[1])
    ] * 2
    outside = await highlights.create(conn, user, book, _hl(start_offset=100, end_offset=101),
                                      "phone")  # fmt: skip
    assert outside.value.book_chapter_id is None  # between chapters: none
