"""Deletes of highlights, bookmarks and annotations (tombstones), in groups: the deletes
of many devices share one transaction and its commit (group commit, server/context.py).

A group takes its locks in the order every other write takes them: the rows of each
kind in id order, then the books' counters in id order (one statement), then the
channel heads (one `store_events` call), so groups, single writes and other groups
never wait on each other in a cycle. A delete of something already deleted, or not
the caller's, is refused alone; the others of its group stand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from domain.books.access import shown_to
from domain.errors import DomainError, Forbidden, NotFound
from domain.events import Event, book_channel, user_channel
from domain.reading.counters import count_books
from domain.reading.models import Deleted
from domain.sql import Conn
from domain.writes import Outcomes, Written, create_group, only, with_events


class Item(Protocol):
    @property
    def id(self) -> UUID: ...
    @property
    def book_id(self) -> UUID: ...


@dataclass(frozen=True, eq=False)
class Kind:
    """How one kind of item is deleted."""

    noun: str  # in refusals: "no such <noun>"
    lock: str  # query: the live rows of the ids $1, in id order, locked
    tombstone: str  # query: the rows of the ids $1 tombstoned
    deleted: str  # the event
    read: Callable[[Any], Item]
    # public items are shown to the book's readers: a reader who sees another's item is
    # told it is not theirs; a private kind's item of another reader does not exist
    public: Callable[[Any], bool] | None = None
    # what deleting an item takes off its book's counters (count_books' names)
    counts: Callable[[Any], dict[str, int]] | None = None
    # a public item's past events on the book channel, redacted
    withdraw: Callable[[Conn, Any], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class Deletion:
    """A delete waiting in a group: of what kind, which item, who asked, from where."""

    kind: Kind
    item_id: UUID
    user_id: UUID
    origin: str | None


async def refusal(conn: Conn, kind: Kind, row: Any, user_id: UUID) -> DomainError | None:
    """Why `user_id` may not change the item `row` (None: absent or deleted), if so."""
    if row is None:
        return NotFound(f"no such {kind.noun}")
    if row["user_id"] != user_id:
        if kind.public is None or not await shown_to(conn, row, user_id):
            return NotFound(f"no such {kind.noun}")
        return Forbidden(f"not your {kind.noun}")
    return None


async def locked_row(conn: Conn, kind: Kind, item_id: UUID, user_id: UUID) -> Any:
    """In the caller's transaction: the caller's live item, locked for a change (a
    single update or delete); a refusal raised otherwise."""
    rows = await conn.fetch(kind.lock, [item_id])
    refused = await refusal(conn, kind, rows[0] if rows else None, user_id)
    if refused is not None:
        raise refused
    return rows[0]


async def delete(
    conn: Conn, kind: Kind, user_id: UUID, item_id: UUID, origin: str | None
) -> Written[Deleted]:
    """One delete: a group of one."""
    return only(await delete_many(conn, [Deletion(kind, item_id, user_id, origin)]))


async def delete_many(conn: Conn, group: list[Deletion]) -> Outcomes[Deleted]:
    """Each delete's outcome, in order; the same item twice in a group: the second finds
    it gone, as a retry would."""
    return await create_group(conn, group, lambda d: (d.kind.noun, d.item_id), _delete)


async def _delete(conn: Conn, group: list[Deletion]) -> Outcomes[Deleted]:
    kinds = list(dict.fromkeys(d.kind for d in group))
    async with conn.transaction():
        locked: dict[tuple[str, UUID], Any] = {}
        for kind in kinds:
            ids = [d.item_id for d in group if d.kind is kind]
            locked.update({(kind.noun, r["id"]): r for r in await conn.fetch(kind.lock, ids)})
        outcomes: Outcomes[Deleted] = []
        pending: list[tuple[int, list[Event], str | None]] = []
        gone: list[tuple[Kind, Item, bool]] = []
        for d in group:
            row = locked.get((d.kind.noun, d.item_id))
            refused = await refusal(conn, d.kind, row, d.user_id)
            if refused is not None:
                outcomes.append(refused)
                continue
            item = d.kind.read(row)
            public = d.kind.public is not None and d.kind.public(item)
            deleted = Deleted(item.id)
            events = [Event(user_channel(d.user_id), d.kind.deleted, deleted)]
            if public:
                events.append(Event(book_channel(item.book_id), d.kind.deleted, deleted))
            pending.append((len(outcomes), events, d.origin))
            outcomes.append(Written(deleted))
            gone.append((d.kind, item, public))
        await _tombstone(conn, kinds, gone)
        return await with_events(conn, outcomes, pending)


async def _tombstone(conn: Conn, kinds: list[Kind], gone: list[tuple[Kind, Item, bool]]) -> None:
    """The items tombstoned, their books' counters moved (all books in one statement,
    after every row), the public ones' past events redacted."""
    for kind in kinds:
        ids = [item.id for k, item, _ in gone if k is kind]
        if ids:
            await conn.execute(kind.tombstone, ids)
    counts: dict[UUID, dict[str, int]] = {}
    for kind, item, _ in gone:
        for name, by in (kind.counts(item) if kind.counts else {}).items():
            book = counts.setdefault(item.book_id, {})
            book[name] = book.get(name, 0) + by
    await count_books(conn, counts)
    for kind, item, public in gone:
        if public and kind.withdraw is not None:
            await kind.withdraw(conn, item)
