"""Updates, deletes (tombstones) and restores of highlights, bookmarks and annotations,
in groups: the changes of many devices share one transaction and its commit (group
commit, server/context.py).

A group takes its locks in the order every other write takes them: the rows of each
kind in id order (its updates are then one statement per kind), then the books'
counters in id order (one statement), then the channel heads (one `store_events`
call), so groups, single writes and other groups never wait on each other in a cycle.
A change refused (not the caller's, already deleted, invalid) is refused alone; the
others of its group stand."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from uuid import UUID

from domain.books.access import readable_book, shown_to
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


Counts = dict[str, int]


@dataclass(frozen=True, eq=False)
class Kind:
    """How one kind of item is changed."""

    noun: str  # in refusals: "no such <noun>"
    lock: str  # query: the rows of the ids $1 (tombstones too, with deleted_at), locked
    tombstone: str  # query: the rows of the ids $1 deleted
    untombstone: str  # query: the rows of the ids $1 back
    created: str  # the events
    updated: str
    deleted: str
    read: Callable[[Any], Item]
    # the columns an update writes: the item with the patch applied and what follows
    # from it; a DomainError when the result is not valid
    columns: Callable[[Any, Any], dict[str, Any]]
    update: str  # query: $1 each item's columns by id, $2 the ids; their rows after
    # public items are shown to the book's readers: a reader who sees another's item is
    # told it is not theirs; a private kind's item of another reader does not exist
    public: Callable[[Any], bool] = field(default=lambda _: False)
    # what deleting an item takes off its book's counters (count_books' names)
    counts: Callable[[Any], Counts] = field(default=lambda _: {})
    # a public item's past events on the book channel, redacted
    withdraw: Callable[[Conn, Any], Awaitable[None]] | None = None


Op = Literal["update", "delete", "restore"]


@dataclass(frozen=True, slots=True)
class Change:
    """A change waiting in a group: of what kind, which item, who asked, from where."""

    kind: Kind
    op: Op
    item_id: UUID
    user_id: UUID
    origin: str | None
    patch: Any = None  # an update's


async def refusal(
    conn: Conn, kind: Kind, row: Any, user_id: UUID, op: Op = "update"
) -> DomainError | None:
    """Why `user_id` may not change the item `row` (None: never stored or purged), if
    so. Only a restore sees a deleted item, and only on a book its owner may still read
    (404 like the book otherwise)."""
    if row is not None and row["user_id"] == user_id:
        if row["deleted_at"] is None:
            return None
        if op != "restore":
            return NotFound(f"no such {kind.noun}")
        try:
            await readable_book(conn, row["book_id"], user_id)
        except DomainError as refused:
            return refused
        return None
    live = row is not None and row["deleted_at"] is None
    if live and kind.public(kind.read(row)) and await shown_to(conn, row, user_id):
        return Forbidden(f"not your {kind.noun}")
    return NotFound(f"no such {kind.noun}")


async def locked_row(conn: Conn, kind: Kind, item_id: UUID, user_id: UUID) -> Any:
    """In the caller's transaction: the caller's live item, locked for a change of its
    own; a refusal raised otherwise."""
    rows = await conn.fetch(kind.lock, [item_id])
    refused = await refusal(conn, kind, rows[0] if rows else None, user_id)
    if refused is not None:
        raise refused
    return rows[0]


async def change(conn: Conn, one: Change) -> Written[Any]:
    """One change: a group of one."""
    return only(await change_many(conn, [one]))


async def change_many(conn: Conn, group: list[Change]) -> Outcomes[Any]:
    """Each change's outcome, in order; the same item twice in a group: the second is
    made after the first (a delete then finds it gone, as a retry would)."""
    return await create_group(conn, group, lambda c: (c.kind.noun, c.item_id), _change)


@dataclass
class _Group:
    """What a group's changes leave to do once each is decided, in one go each."""

    update: dict[Kind, dict[UUID, dict[str, Any]]] = field(default_factory=dict)
    tombstone: dict[Kind, list[UUID]] = field(default_factory=dict)
    untombstone: dict[Kind, list[UUID]] = field(default_factory=dict)
    counts: dict[UUID, Counts] = field(default_factory=dict)
    withdraw: list[tuple[Kind, Item]] = field(default_factory=list)

    async def updated(self, conn: Conn) -> dict[tuple[str, UUID], Any]:
        """The updates made, one statement per kind: the rows after, by kind and id."""
        rows = {}
        for kind, columns in self.update.items():
            for row in await conn.fetch(kind.update, columns, list(columns)):
                rows[kind.noun, row["id"]] = row
        return rows

    async def finish(self, conn: Conn) -> None:
        """The tombstones, restores, counters and withdrawals the group's changes left."""
        for kind, ids in self.tombstone.items():
            await conn.execute(kind.tombstone, ids)
        for kind, ids in self.untombstone.items():
            await conn.execute(kind.untombstone, ids)
        await count_books(conn, {b: by for b, by in self.counts.items() if any(by.values())})
        for kind, item in self.withdraw:
            assert kind.withdraw is not None
            await kind.withdraw(conn, item)

    def count(self, book_id: UUID, by: Counts, sign: int) -> None:
        book = self.counts.setdefault(book_id, {})
        for name, amount in by.items():
            book[name] = book.get(name, 0) + sign * amount

    def shown(self, kind: Kind, item: Item, *, was: bool, now: bool) -> list[Event]:
        """`book_events`; an item that stops being public has its past events on the
        book channel withdrawn too."""
        if was and not now and kind.withdraw is not None:
            self.withdraw.append((kind, item))
        return book_events(kind, item, was=was, now=now)


def book_events(kind: Kind, item: Item, *, was: bool, now: bool) -> list[Event]:
    """The book channel's events for a change of `item` that was public (`was`) and is
    now (`now`): shown while public (`.created` when it starts), `.deleted` when it stops."""
    book = book_channel(item.book_id)
    if now:
        return [Event(book, kind.updated if was else kind.created, item)]
    if was:
        return [Event(book, kind.deleted, Deleted(item.id))]
    return []


async def _change(conn: Conn, group: list[Change]) -> Outcomes[Any]:
    async with conn.transaction():
        locked: dict[tuple[str, UUID], Any] = {}
        for kind in dict.fromkeys(c.kind for c in group):
            ids = [c.item_id for c in group if c.kind is kind]
            locked.update({(kind.noun, r["id"]): r for r in await conn.fetch(kind.lock, ids)})
        todo = _Group()
        decided = [await _decide(conn, c, locked.get((c.kind.noun, c.item_id)), todo)
                   for c in group]  # fmt: skip
        after = await todo.updated(conn)
        outcomes: Outcomes[Any] = []
        pending: list[tuple[int, list[Event], str | None]] = []
        for c, row in zip(group, decided, strict=True):
            if isinstance(row, DomainError):
                outcomes.append(row)
                continue
            written, events = _settle(c, row, after.get((c.kind.noun, c.item_id)), todo)
            if events:
                pending.append((len(outcomes), events, c.origin))
            outcomes.append(written)
        await todo.finish(conn)
        return await with_events(conn, outcomes, pending)


async def _decide(conn: Conn, c: Change, row: Any, todo: _Group) -> DomainError | Any:
    """The change's refusal, or its locked row; an update's columns noted for the group."""
    refused = await refusal(conn, c.kind, row, c.user_id, c.op)
    if refused is not None or c.op != "update":
        return refused or row
    try:
        columns = c.kind.columns(c.kind.read(row), c.patch)
    except DomainError as invalid:
        return invalid
    todo.update.setdefault(c.kind, {})[c.item_id] = columns
    return row


def _settle(c: Change, row: Any, updated: Any, todo: _Group) -> tuple[Written[Any], list[Event]]:
    """One allowed change (`updated`: an update's row after): its outcome and events;
    what it leaves to the group, noted."""
    kind, before = c.kind, c.kind.read(row)
    mine = user_channel(c.user_id)
    if c.op == "restore":
        if row["deleted_at"] is None:  # a restore of a live item changes nothing
            return Written(before, created=False), []
        todo.untombstone.setdefault(kind, []).append(before.id)
        todo.count(before.book_id, kind.counts(before), -1)
        shown = todo.shown(kind, before, was=False, now=kind.public(before))
        return Written(before), [Event(mine, kind.created, before), *shown]
    if c.op == "delete":
        todo.tombstone.setdefault(kind, []).append(before.id)
        todo.count(before.book_id, kind.counts(before), 1)
        gone = Deleted(before.id)
        shown = todo.shown(kind, before, was=kind.public(before), now=False)
        return Written(gone), [Event(mine, kind.deleted, gone), *shown]
    after = kind.read(updated)
    todo.count(before.book_id, kind.counts(before), 1)
    todo.count(before.book_id, kind.counts(after), -1)
    shown = todo.shown(kind, after, was=kind.public(before), now=kind.public(after))
    return Written(after), [Event(mine, kind.updated, after), *shown]
