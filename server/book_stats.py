"""`book.stats`, coalesced: a book's counters go to its readers at most once per
interval, however many highlights appear on it meanwhile.

Each `book.stats` goes to every reader of the book; sent once per public highlight it
doubled the frames of every create (docs/benchmarks.md, issue 19). The hub tells this
process of what it publishes; a change to a book's public highlights marks the book,
and the marked books' counters are announced together: at once after a quiet interval,
else when the interval since the last announcement is over. The counters themselves
are committed with each write; only their announcement is coalesced, so the last
`book.stats` after a burst carries the counts after the whole burst.

A process that dies between a write and its announcement loses that announcement only:
the counters are in PostgreSQL (GET /books/{id}) and the next change announces them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from uuid import UUID

import asyncpg

from domain.events import StoredEvent
from domain.reading import highlights

log = logging.getLogger(__name__)

INTERVAL_S = 0.5


class BookStatsAnnouncer:
    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Callable[[list[StoredEvent]], None],
        interval_s: float = INTERVAL_S,
    ) -> None:
        self._pool = pool
        self._publish = publish
        self._interval_s = interval_s
        self._marked: set[UUID] = set()
        self._last = float("-inf")  # when the last announcement started (monotonic)
        self._due: asyncio.TimerHandle | None = None
        self._running: asyncio.Task[None] | None = None
        self._closed = False

    def observe(self, events: list[StoredEvent]) -> None:
        """A hub observer: told of every batch of events this process publishes."""
        for e in events:
            book = highlights.stats_changed_on(e)
            if book is not None:
                self._marked.add(book)
        if self._marked:
            self._schedule()

    def _schedule(self) -> None:
        if self._closed or self._due is not None or self._running is not None:
            return  # the pending announcement, or the one after the running one, takes it
        delay = max(0.0, self._last + self._interval_s - time.monotonic())
        self._due = asyncio.get_running_loop().call_later(delay, self._start)

    def _start(self) -> None:
        self._due = None
        self._running = asyncio.create_task(self._announce(), name="book-stats")

    async def _announce(self) -> None:
        self._last = time.monotonic()
        books, self._marked = sorted(self._marked), set()
        try:
            async with self._pool.acquire() as conn:
                self._publish(await highlights.announce_stats(conn, books))
        except Exception:  # PostgreSQL away: try these books again after the interval
            log.exception("book.stats announcement failed; retrying")
            self._marked.update(books)
        finally:
            self._running = None
        if self._marked:
            self._schedule()

    async def close(self) -> None:
        """At shutdown, before the pool closes: announce what is marked now."""
        self._closed = True
        if self._due is not None:
            self._due.cancel()
            self._due = None
        if self._running is not None:
            with contextlib.suppress(Exception):
                await self._running
        if self._marked:
            await self._announce()
