"""What every write operation returns, and the snapshot reads that pair state with heads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import asyncpg

from domain.errors import NotFound
from domain.events import StoredEvent, heads
from domain.sql import Conn

T = TypeVar("T")
Item = TypeVar("Item")


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


async def create_group(
    conn: Conn,
    news: list[Item],
    key: Callable[[Item], Hashable],
    store: Callable[[Conn, list[Item]], Awaitable[Outcomes[T]]],
) -> Outcomes[T]:
    """Group commit for creates: `store` writes a group in one go (one statement or one
    transaction), so the creates of many devices share its round trips and its commit.
    Each create's outcome is its own. A create whose `key` (its client id) is already in
    the group waits for the group and then finds the id taken, as a retry would; if
    `store` fails (a book removed meanwhile) each create is tried alone."""
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
    for i in later:
        outcomes.insert(i, await _alone(conn, store, news[i]))
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
