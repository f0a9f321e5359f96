"""Reading statistics, exact and cheap to ask for again.

The numbers are counted live (each table in its own subquery), then kept briefly in a
small cache keyed by a version that every relevant write moves: for a reader, the head
`seq` of their own channel (every write that changes their numbers emits an event
there) and their local date (the streak rolls over at midnight); for a book, its
channel head and highlight counters. Writes that leave no trace in those (another
reader's private progress on a public book) show within the cache's short lifetime."""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import msgspec

from domain.books.access import readable_book
from domain.errors import Invalid
from domain.events import book_channel, user_channel
from domain.sql import Conn, load_queries
from domain.stats.models import BookStats, ReadingDay, ReadingDays, UserStats

Q = load_queries(__file__)
USER_TTL_S = 60.0
BOOK_TTL_S = 10.0
CACHE_ENTRIES = 10_000


class VersionedCache:
    """At most `size` values, each valid while its version matches and it is young."""

    def __init__(self, size: int = CACHE_ENTRIES) -> None:
        self._items: OrderedDict[Any, tuple[Any, float, Any]] = OrderedDict()
        self._size = size

    def get(self, key: Any, version: Any) -> Any | None:
        item = self._items.get(key)
        if item is None or item[0] != version or item[1] < time.monotonic():
            return None
        return item[2]

    def put(self, key: Any, version: Any, ttl_s: float, value: Any) -> None:
        self._items[key] = (version, time.monotonic() + ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


_cache = VersionedCache()


def streak(days: list[date], today: date) -> int:
    """Consecutive days with a session ending today or yesterday (`days` newest first)."""
    count = 0
    expected: date | None = None
    for day in days:
        if day > today:
            continue  # a session stamped ahead of the reader's clock
        if expected is None:
            if day < today - timedelta(days=1):
                return 0
            expected = day
        if day != expected:
            break
        count += 1
        expected = day - timedelta(days=1)
    return count


async def user_stats(conn: Conn, user_id: UUID) -> UserStats:
    version_row = await conn.fetchrow(Q.user_version, user_channel(user_id), user_id)
    assert version_row is not None
    version = (version_row["head"], version_row["today"], version_row["time_zone"])
    cached: UserStats | None = _cache.get(("user", user_id), version)
    if cached is not None:
        return cached
    row = await conn.fetchrow(Q.user_stats, user_id)
    days = [r["day"] for r in await conn.fetch(Q.reading_days, user_id, version_row["time_zone"])]
    stats = msgspec.convert(
        {**dict(row or {}), "reading_streak": streak(days, version_row["today"])}, UserStats
    )
    _cache.put(("user", user_id), version, USER_TTL_S, stats)
    return stats


async def reading_by_day(conn: Conn, user_id: UUID, days: int) -> ReadingDays:
    """Time and pages read on each of the last `days` days (a chart's worth, ≤ 366)."""
    if not 1 <= days <= 366:
        raise Invalid("days must be 1 to 366", field="days")
    rows = await conn.fetch(Q.reading_by_day, user_id, days)
    return ReadingDays(items=[msgspec.convert(dict(r), ReadingDay) for r in rows])


async def book_stats(conn: Conn, user_id: UUID, book_id: UUID) -> BookStats:
    await readable_book(conn, book_id, user_id)
    version_row = await conn.fetchrow(Q.book_version, book_id, book_channel(book_id))
    version = tuple(version_row) if version_row is not None else None
    cached: BookStats | None = _cache.get(("book", book_id), version)
    if cached is not None:
        return cached
    row = await conn.fetchrow(Q.book_stats, book_id)
    stats = msgspec.convert(dict(row or {}), BookStats)
    _cache.put(("book", book_id), version, BOOK_TTL_S, stats)
    return stats
