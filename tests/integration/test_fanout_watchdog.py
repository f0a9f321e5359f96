"""The fan-out watchdog restarts a listener only when it is really dead: under `make run`
(the in-memory backend) it once restarted every 6 s forever, reconciling every channel
against PostgreSQL each time."""

from __future__ import annotations

import asyncio
import contextlib

from litestar.channels.backends.memory import MemoryChannelsBackend

from server.hub.fanout import Fanout


async def test_in_memory_listener_is_left_alone() -> None:
    heard: list[tuple[str, bytes]] = []
    reconnects = 0

    async def on_reconnect() -> None:
        nonlocal reconnects
        reconnects += 1

    fanout = Fanout(MemoryChannelsBackend, prefix="t", deliver=lambda c, d: heard.append((c, d)),
                    on_reconnect=on_reconnect, probe_interval_s=0.05)  # fmt: skip
    await fanout.start()
    try:
        await fanout.subscribe("book:x")
        await asyncio.sleep(1.0)  # twenty probe intervals; silence past three restarts
        fanout.publish("book:x", b"frame")
        await asyncio.sleep(0.1)
    finally:
        await fanout.stop()
    assert fanout.restarts == 0 and reconnects == 0
    assert heard == [("book:x", b"frame")]


class _SwallowsCancellation(MemoryChannelsBackend):
    """A publish that swallows a cancellation arriving mid-command, as the Redis client
    can: the task runs on to its next wait."""

    async def publish(self, data: bytes, channels: object) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)


async def _nothing() -> None:
    pass


async def test_stopping_does_not_wait_on_a_swallowed_cancellation() -> None:
    fanout = Fanout(_SwallowsCancellation, prefix="t", deliver=lambda c, d: None,
                    on_reconnect=_nothing, probe_interval_s=60)  # fmt: skip
    await fanout.start()
    fanout.publish("book:x", b"frame")
    await asyncio.sleep(0.05)  # the publisher is inside publish
    # a server's shutdown once waited here until it was killed (15 s in the tests)
    stopping = asyncio.create_task(fanout.stop())
    done, _ = await asyncio.wait({stopping}, timeout=2)
    assert stopping in done, "stop() waits on a publisher that swallowed its cancellation"
