"""Bookmarks: manual ones (idempotent by client id), and the one auto bookmark per user
and book that follows the reading position. Events go to the owner's channel only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.books.access import readable_book
from domain.errors import NotFound
from domain.events import Event, user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.patches import patched
from domain.reading import changes
from domain.reading.changes import Change, Kind
from domain.reading.counters import count_books
from domain.reading.models import AutoBookmark, Bookmark, BookmarkCreate, BookmarkPatch, Deleted
from domain.reading.sql import Q
from domain.sql import Conn
from domain.writes import (
    Written,
    create_group,
    only,
    read_with_heads,
    settle_creates,
    with_events,
)


def _bookmark(row: Any) -> Bookmark:
    return msgspec.convert({k: row[k] for k in Bookmark.__struct_fields__}, Bookmark)


@dataclass(frozen=True, slots=True)
class NewBookmark:
    """A create ready to store: its id (the client's, or a new one), whose, on which book,
    what was asked, and who asked (the origin)."""

    id: UUID
    user_id: UUID
    book_id: UUID
    cmd: BookmarkCreate
    origin: str | None


class _Input(msgspec.Struct):
    """One create as `create_bookmarks` reads it."""

    n: int
    id: UUID
    user_id: UUID
    book_id: UUID
    title: str | None
    note: str | None
    category: str
    page_number: int
    position_data: Any
    context_text: str | None
    icon: str | None


def new_bookmark(
    user_id: UUID, book_id: UUID, cmd: BookmarkCreate, origin: str | None
) -> NewBookmark:
    return NewBookmark(cmd.id or uuid.uuid4(), user_id, book_id, cmd, origin)


async def create(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: BookmarkCreate, origin: str | None
) -> Written[Bookmark]:
    return only(await create_many(conn, [new_bookmark(user_id, book_id, cmd, origin)]))


async def create_many(conn: Conn, news: list[NewBookmark]) -> list[Written[Bookmark] | Exception]:
    """Group commit: the creates of many devices in one transaction of two statements
    (the rows and counters, then all their events), whatever the group's size."""
    return await create_group(conn, news, lambda new: new.id, _store)


async def _store(conn: Conn, group: list[NewBookmark]) -> list[Written[Bookmark] | Exception]:
    inputs = [
        _Input(n, new.id, new.user_id, new.book_id, new.cmd.title, new.cmd.note,
               new.cmd.category, new.cmd.page_number, new.cmd.position_data,
               new.cmd.context_text, new.cmd.icon)
        for n, new in enumerate(group)
    ]  # fmt: skip

    def made(new: NewBookmark, row: Any) -> tuple[Bookmark, list[Event]]:
        bookmark = _bookmark(row)
        return bookmark, [Event(user_channel(new.user_id), ev.BOOKMARK_CREATED, bookmark)]

    async with conn.transaction():
        return await settle_creates(
            conn, group, await conn.fetch(Q.create_bookmarks, inputs),
            refused=lambda row: None if row["allowed"] else NotFound("no such book"),
            made=made, by_id=Q.bookmark_by_id, convert=_bookmark,
        )  # fmt: skip


def _columns(before: Bookmark, patch: BookmarkPatch) -> dict[str, Any]:
    after = patched(before, patch)
    return {"title": after.title, "note": after.note, "category": after.category,
            "page_number": after.page_number, "position_data": after.position_data,
            "context_text": after.context_text, "icon": after.icon}  # fmt: skip


KIND = Kind(
    noun="bookmark",
    lock=Q.bookmarks_for_change,
    tombstone=Q.tombstone_bookmarks,
    untombstone=Q.untombstone_bookmarks,
    created=ev.BOOKMARK_CREATED,
    updated=ev.BOOKMARK_UPDATED,
    deleted=ev.BOOKMARK_DELETED,
    read=_bookmark,
    columns=_columns,
    update=Q.update_bookmarks,
    counts=lambda _: {"bookmarks": -1},
)


async def update(
    conn: Conn, user_id: UUID, bookmark_id: UUID, patch: BookmarkPatch, origin: str | None
) -> Written[Bookmark]:
    return await changes.change(conn, Change(KIND, "update", bookmark_id, user_id, origin, patch))


async def delete(
    conn: Conn, user_id: UUID, bookmark_id: UUID, origin: str | None
) -> Written[Deleted]:
    return await changes.change(conn, Change(KIND, "delete", bookmark_id, user_id, origin))


@dataclass(frozen=True, slots=True)
class AutoMove:
    """A reader's auto bookmark following their reading position on one book."""

    user_id: UUID
    book_id: UUID
    cmd: AutoBookmark
    origin: str | None


class _Move(msgspec.Struct):
    """One move as `move_auto_bookmarks` reads it."""

    n: int
    user_id: UUID
    book_id: UUID
    page_number: int
    position_data: Any
    context_text: str | None


async def set_auto(
    conn: Conn, user_id: UUID, book_id: UUID, cmd: AutoBookmark, origin: str | None
) -> Written[Bookmark]:
    """Create or move the single auto bookmark of this user on this book."""
    return only(await set_auto_many(conn, [AutoMove(user_id, book_id, cmd, origin)]))


async def set_auto_many(conn: Conn, moves: list[AutoMove]) -> list[Written[Bookmark] | Exception]:
    """Group commit: the moves of many devices in one transaction of three statements
    (the bookmarks made, those moved, the events). A reader's second move of the same
    book in a group goes in the next round, after it."""
    return await create_group(conn, moves, lambda m: (m.user_id, m.book_id), _move)


async def _move(conn: Conn, group: list[AutoMove]) -> list[Written[Bookmark] | Exception]:
    inputs = [
        _Move(n, m.user_id, m.book_id, m.cmd.page_number, m.cmd.position_data,
              m.cmd.context_text)
        for n, m in enumerate(group)
    ]  # fmt: skip
    outcomes: list[Written[Bookmark] | Exception] = []
    pending: list[tuple[int, list[Event], str | None]] = []
    async with conn.transaction():
        first = await conn.fetch(Q.insert_auto_bookmarks, inputs)
        rest = [
            {"n": r["n"], "reader": group[r["n"]].user_id, "book": group[r["n"]].book_id,
             "page": inputs[r["n"]].page_number, "position": inputs[r["n"]].position_data,
             "context": inputs[r["n"]].context_text, "heading": r["heading"]}
            for r in first if r["allowed"] and not r["made"]
        ]  # fmt: skip
        moved = {r["n"]: r for r in await conn.fetch(Q.move_auto_bookmarks, rest)} if rest else {}
        counts: dict[UUID, dict[str, int]] = {}
        for row in [*(r for r in first if r["made"]), *(r for r in moved.values() if r["revived"])]:
            counts.setdefault(row["book_id"], {"bookmarks": 0})["bookmarks"] += 1
        await count_books(conn, counts)
        for m, row in zip(group, first, strict=True):
            now = row if row["made"] else moved.get(row["n"])
            if not row["allowed"] or now is None:
                outcomes.append(NotFound("no such book"))
                continue
            bookmark = _bookmark(now)
            created = bool(row["made"] or now["revived"])
            name = ev.BOOKMARK_CREATED if created else ev.BOOKMARK_UPDATED
            event = Event(user_channel(m.user_id), name, bookmark)
            pending.append((len(outcomes), [event], m.origin))
            outcomes.append(Written(bookmark, created=created))
        return await with_events(conn, outcomes, pending)


async def list_for_book(
    conn: Conn, user_id: UUID, book_id: UUID, *, cursor: str | None, limit: int
) -> tuple[Page[Bookmark], dict[str, int]]:
    await readable_book(conn, book_id, user_id)
    after = decode_cursor(cursor)
    stamp, last_id = after if after else (None, None)

    async def read() -> Page[Bookmark]:
        rows = await conn.fetch(Q.own_bookmarks, user_id, book_id, stamp, last_id, limit + 1)
        return page_of([_bookmark(r) for r in rows], limit, lambda b: (b.created_at, b.id))

    return await read_with_heads(conn, [user_channel(user_id)], read)


async def restore(
    conn: Conn, user_id: UUID, bookmark_id: UUID, origin: str | None
) -> Written[Bookmark]:
    """Undo a delete (`bookmark.created` again). The auto bookmark is one row per book,
    which `bookmark.auto` revives: once moved again, a restore finds it live."""
    return await changes.change(conn, Change(KIND, "restore", bookmark_id, user_id, origin))
