"""What every write operation returns, and the snapshot reads that pair state with heads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

import asyncpg

from domain.errors import Conflict, NotFound
from domain.events import Event, StoredEvent, append_group_events, heads
from domain.sql import Conn

T = TypeVar("T")
Item = TypeVar("Item")


class Create(Protocol):
    """A create waiting in a group: its client id, its writer and who asked."""

    @property
    def id(self) -> UUID: ...
    @property
    def user_id(self) -> UUID: ...
    @property
    def origin(self) -> str | None: ...


C = TypeVar("C", bound=Create)


@dataclass(frozen=True, slots=True)
class Written(Generic[T]):
    """The object after the write, the events it committed (to publish after commit),
    and whether it was created now (False: an idempotent retry found it)."""

    value: T
    events: list[StoredEvent] = field(default_factory=list)
    created: bool = True


async def read_with_heads(
    conn: Conn, channels: list[str], read: Callable[[], Awaitable[T]]
) -> tuple[T, dict[str, int]]:
    """Run `read` and take the channels' head seqs in one snapshot, so a client that
    loads the state and then subscribes with `since` = the head misses nothing."""
    if conn.is_in_transaction():  # the caller already holds the snapshot
        return await read(), await heads(conn, channels)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        value = await read()
        return value, await heads(conn, channels)


Outcomes = list["Written[T] | Exception"]


def only(outcomes: Outcomes[T]) -> Written[T]:
    """The outcome of a group of one: the write, or its error raised."""
    (outcome,) = outcomes
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


async def create_group(
    conn: Conn,
    news: list[Item],
    key: Callable[[Item], Hashable],
    store: Callable[[Conn, list[Item]], Awaitable[Outcomes[T]]],
) -> Outcomes[T]:
    """Group commit for creates: `store` writes a group in one go (one statement or one
    transaction), so the creates of many devices share its round trips and its commit.
    Each create's outcome is its own. A create whose `key` (its client id; for a move,
    what it moves) is already in the group goes in the next round, stored after it: it
    finds the id taken, as a retry would (or moves on from where the first left it); if
    `store` fails (a book removed meanwhile) each create of the round is tried alone."""
    group: list[Item] = []
    later: list[int] = []
    ids: set[Hashable] = set()
    for i, new in enumerate(news):
        if key(new) in ids:
            later.append(i)
        else:
            ids.add(key(new))
            group.append(new)
    if len(group) == 1:
        outcomes = [await _alone(conn, store, group[0])]
    else:
        try:
            outcomes = await store(conn, group)
        except asyncpg.PostgresError:
            outcomes = [await _alone(conn, store, new) for new in group]
    if later:  # the next round: stored after this one, as a retry would be
        for i, outcome in zip(later, await create_group(conn, [news[i] for i in later], key,
                                                        store), strict=True):  # fmt: skip
            outcomes.insert(i, outcome)
    return outcomes


async def _alone(
    conn: Conn, store: Callable[[Conn, list[Item]], Awaitable[Outcomes[T]]], new: Item
) -> Written[T] | Exception:
    try:
        (outcome,) = await store(conn, [new])
    except asyncpg.ForeignKeyViolationError:  # the book (or its chapter) went away meanwhile
        return NotFound("no such book")
    except asyncpg.PostgresError as exc:  # this create's own failure, not the others'
        return exc
    return outcome


async def settle_creates(
    conn: Conn,
    group: Sequence[C],
    rows: Sequence[Any],
    *,
    refused: Callable[[Any], Exception | None],
    made: Callable[[C, Any], tuple[T, list[Event]]],
    by_id: str,
    convert: Callable[[Any], T],
) -> Outcomes[T]:
    """In the group's transaction, after its statement: each create's outcome from its
    row (`refused` says why the row was not written, if it was not; a row not `created`
    found its id taken: a retry by the same user gets the stored object back, read with
    the query `by_id`, another user's id is a conflict; `made` is the object created and
    its events), then every created object's events appended in one call."""
    outcomes: Outcomes[T] = []
    pending: list[tuple[int, list[Event], str | None]] = []
    for new, row in zip(group, rows, strict=True):
        refusal = refused(row)
        if refusal is not None:
            outcomes.append(refusal)
        elif not row["created"]:
            outcomes.append(await found_again(conn, by_id, new.id, new.user_id, convert))
        else:
            value, events = made(new, row)
            pending.append((len(outcomes), events, new.origin))
            outcomes.append(Written(value))
    return await with_events(conn, outcomes, pending)


async def found_again(
    conn: Conn, by_id: str, item_id: UUID, user_id: UUID, convert: Callable[[Any], T]
) -> Written[T] | Exception:
    """A create that found its client id taken: a retry by the same user gets the stored
    object back (read with the query `by_id`); another user's id is a conflict."""
    found = await conn.fetchrow(by_id, item_id)
    if found is None or found["user_id"] != user_id:
        return Conflict("that id is already in use", field="id")
    return Written(convert(found), created=False)


async def with_events(
    conn: Conn, outcomes: Outcomes[T], pending: list[tuple[int, list[Event], str | None]]
) -> Outcomes[T]:
    """In the group's transaction: the events of the writes at these places of
    `outcomes` (each write's own, with its origin) appended in one call, and each write
    given its stored events."""
    stored = iter(await append_group_events(
        conn, [(e, origin) for _, events, origin in pending for e in events]
    ))  # fmt: skip
    for i, events, _ in pending:
        written = outcomes[i]
        assert isinstance(written, Written)
        outcomes[i] = Written(written.value, [next(stored) for _ in events], written.created)
    return outcomes
