"""Group commit: writes that arrive while others are being committed are committed
together, in one transaction on one pooled connection.

The first write of a quiet moment goes at once, alone. Writes that arrive while
`in_flight` groups are running wait for the next group, which takes all of them (up to
`max_size`). Nobody waits on a timer: a group is as large as the load makes it. Each
write still gets its own outcome (`run` returns one per item, an exception for those
that failed) and its answer only after the commit that made it durable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import asyncpg

from domain.sql import Conn
from server import metrics

Item = TypeVar("Item")
Result = TypeVar("Result")

RunMany = Callable[[Conn, list[Item]], Awaitable[Sequence[Result | Exception]]]


class GroupCommit(Generic[Item, Result]):
    def __init__(
        self,
        pool: asyncpg.Pool,
        run: RunMany[Item, Result],
        *,
        max_size: int = 64,
        in_flight: int = 2,
    ) -> None:
        self._pool = pool
        self._run = run
        self._max_size = max_size
        self._in_flight = in_flight
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._runners: set[asyncio.Task[None]] = set()
        self._draining = 0  # runners that have not yet seen the waiting list empty

    async def submit(self, item: Item) -> Result:
        """Commit `item` with whatever else is waiting; its own outcome, once durable."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._draining < self._in_flight:
            self._draining += 1
            runner = asyncio.create_task(self._drain())
            self._runners.add(runner)
            runner.add_done_callback(self._runners.discard)
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_waiting()
        finally:
            # counted down in the same step that saw the list empty: a task that has
            # finished but is not yet discarded from `_runners` must not be taken for
            # one still draining (a write submitted then would wait forever)
            self._draining -= 1

    async def _drain_waiting(self) -> None:
        while self._waiting:
            group = self._waiting[: self._max_size]
            del self._waiting[: self._max_size]
            metrics.WRITE_GROUP_SIZE.observe(len(group))
            try:
                async with self._pool.acquire() as conn:
                    outcomes = await self._run(conn, [item for item, _ in group])
            except Exception as exc:  # nothing of the group is known to be committed
                self._fail(group, exc)
                continue
            except BaseException:  # cancelled (shutdown): its writers must not wait forever
                self._fail(group, ConnectionAbortedError("write interrupted; retry"))
                raise
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if future.done():  # its caller went away; the write stands
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    @staticmethod
    def _fail(group: list[tuple[Item, asyncio.Future[Result]]], exc: BaseException) -> None:
        for _, future in group:
            if not future.done():
                future.set_exception(exc)

    async def close(self) -> None:
        """Let the groups being committed finish (at shutdown, before the pool closes)."""
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._runners)
