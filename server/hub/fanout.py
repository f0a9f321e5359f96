"""The transport between web processes: Litestar's channel backends, used only to carry
already-encoded frames. Queues, access checks and seq ordering live in the hub, since the
backends drop messages silently, have no authorization hook and no message ids.

A Redis pub/sub listener can die silently (Redis drops a client over its output buffer
limit, a network blip): `Fanout` recreates the backend when its stream fails, and a
watchdog sends itself a probe every few seconds and restarts the listener when the probe
does not come back. After every restart it calls `on_reconnect`, so the hub reconciles
its channels against PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable

from litestar.channels.backends.base import ChannelsBackend

log = logging.getLogger(__name__)

Deliver = Callable[[str, bytes], None]

# frames published but not yet accepted by the backend (Redis down): retried in order.
# Past this many the oldest are dropped; other processes still recover them from
# PostgreSQL through their reconcile loop.
OUTBOX_LIMIT = 100_000


class Fanout:
    def __init__(
        self,
        make_backend: Callable[[], ChannelsBackend],
        *,
        prefix: str,
        deliver: Deliver,
        on_reconnect: Callable[[], Awaitable[None]],
        probe_interval_s: float = 2.0,
    ) -> None:
        self._make_backend = make_backend
        self._prefix = prefix + ":"
        self._deliver = deliver
        self._on_reconnect = on_reconnect
        self._probe_interval_s = probe_interval_s
        self._backend: ChannelsBackend | None = None
        self._channels: set[str] = set()
        self._outbox: deque[tuple[str, bytes]] = deque(maxlen=OUTBOX_LIMIT)
        self._outbox_ready = asyncio.Event()
        self._probe_channel = f"{self._prefix}probe:{uuid.uuid4().hex}"
        self._probe_seen = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncio.Task[None] | None = None
        self.restarts = 0

    async def start(self) -> None:
        await self._open()
        self._tasks = [
            asyncio.create_task(self._publisher(), name="fanout-publisher"),
            asyncio.create_task(self._watchdog(), name="fanout-watchdog"),
        ]

    async def stop(self) -> None:
        for task in [*self._tasks, self._listener]:
            if task is not None:
                await stop_task(task)
        await self._close_backend()

    async def subscribe(self, channel: str) -> None:
        await self.subscribe_many([channel])

    async def subscribe_many(self, channels: list[str]) -> None:
        """One command for many channels (a reader following thousands of authors)."""
        self._channels.update(channels)
        if self._backend is not None and channels:
            await self._backend.subscribe([self._prefix + c for c in channels])

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        if self._backend is not None:
            with contextlib.suppress(Exception):
                await self._backend.unsubscribe([self._prefix + channel])

    def publish(self, channel: str, payload: bytes) -> None:
        """Queue `payload` for every process subscribed to `channel` (this one included).
        Never blocks the caller: the write is already durable."""
        self._outbox.append((self._prefix + channel, payload))
        self._outbox_ready.set()

    # -- internals ------------------------------------------------------------------

    async def _open(self) -> None:
        backend = self._make_backend()
        await backend.on_startup()
        names = [self._prefix + c for c in self._channels] + [self._probe_channel]
        await backend.subscribe(names)
        self._backend = backend
        self._listener = asyncio.create_task(self._listen(backend), name="fanout-listener")
        self._probe_seen = time.monotonic()

    async def _close_backend(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            with contextlib.suppress(Exception):
                await backend.on_shutdown()

    async def _listen(self, backend: ChannelsBackend) -> None:
        cut = len(self._prefix)
        try:
            async for channel, data in backend.stream_events():
                if channel == self._probe_channel:
                    self._probe_seen = time.monotonic()
                    continue
                try:
                    self._deliver(channel[cut:], data)
                except Exception:  # one bad message must not kill the listener
                    log.exception("fan-out delivery failed on %s", channel)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("fan-out listener stopped: %s", exc)

    async def _restart(self) -> None:
        self.restarts += 1
        if self._listener is not None:
            await stop_task(self._listener)
        await self._close_backend()
        await self._open()
        log.info("fan-out listener restarted", extra={"restarts": self.restarts})
        await self._on_reconnect()

    async def _watchdog(self) -> None:
        while True:
            await asyncio.sleep(self._probe_interval_s)
            try:
                listener_dead = self._listener is None or self._listener.done()
                silent = time.monotonic() - self._probe_seen > 3 * self._probe_interval_s
                if listener_dead or silent:
                    await self._restart()
                    continue
                # every backend gets probes, the in-memory one too: a watchdog that waits
                # for probes nobody sends restarts the listener every few seconds
                if self._backend is not None:
                    await self._backend.publish(b"", [self._probe_channel])
            except Exception as exc:  # Redis still down: try again next round
                log.warning("fan-out watchdog: %s", exc)

    async def _publisher(self) -> None:
        """Drain the outbox in order; on failure keep the frames and retry with backoff."""
        backoff = 0.05
        while True:
            await self._outbox_ready.wait()
            while self._outbox:
                channel, payload = self._outbox[0]
                try:
                    assert self._backend is not None
                    await self._backend.publish(payload, [channel])
                except Exception as exc:
                    log.warning("publish failed, will retry: %s", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                backoff = 0.05
                self._outbox.popleft()
            self._outbox_ready.clear()


async def stop_task(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait until it has ended (the hub's and the fan-out's
    at shutdown). The Redis client can swallow a cancellation that lands in the middle of
    a command, and the task then runs on to its next wait: the publisher sat waiting for
    frames and held a server's shutdown until it was killed. So cancel again until it
    ends."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.1)
    if not task.cancelled():
        task.exception()  # retrieved: its failure was logged where it happened
