"""What every write operation returns, and the snapshot reads that pair state with heads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from domain.events import StoredEvent, heads
from domain.sql import Conn

T = TypeVar("T")


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
