"""One WebSocket connection: its outgoing queue and writer, its subscriptions.

A frame is written straight to the socket's transport when its buffer has room and
nothing is waiting before it (server/hub/direct.py); the frames a call's ack and events
give one socket go out in one `write(2)`, not one each (`Corked`). Otherwise it waits
in a bounded queue drained by the connection's writer task through ASGI. When the queue
is full the reader is too slow: the connection is closed with 1013 and the client
resumes from its last seq. A slow reader never slows the others or grows the server's
memory."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from server import metrics
from server.hub.direct import direct_writer, text_frame, text_of

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]

CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_RESTART = 1012
CLOSE_SLOW = 1013
CLOSE_UNAUTHORIZED = 4401
CLOSE_NO_HELLO = 4408
CLOSE_TOO_MANY = 4409  # the account opened more sockets than it may keep


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class Subscription:
    """A connection's place in one channel. While a replay from PostgreSQL runs, live
    frames wait in `buffer`; `sent` is the last seq this connection was given, so the
    seam between replay and live has neither a gap nor a duplicate."""

    __slots__ = ("buffer", "channel", "conn", "replaying", "sent")

    def __init__(self, conn: Connection, channel: str, sent: int) -> None:
        self.conn = conn
        self.channel = channel
        self.sent = sent
        self.replaying = False
        self.buffer: list[tuple[int, str]] = []

    def offer(self, seq: int, text: str, framed: bytes | None = None) -> bool:
        """Hand on one frame; True if it was written to the socket at once."""
        if self.replaying:
            self.buffer.append((seq, text))
        elif seq > self.sent:
            self.sent = seq
            return self.conn.push(text, framed)
        return False


class Corked:
    """`with corked:` holds the frames given to sockets in the block and writes them as
    it ends, all of one socket in one `write(2)`. A call's task acks and publishes its
    events in such a block, so a device's ack and event go out together (under
    `bench_writes` those were two writes; each `write(2)` is most of what a frame costs
    the server: docs/benchmarks.md). Outside a block a frame is written at once (AI
    tokens, fan-out, replays): holding every frame to the end of the loop's turn joined
    more of them but made each token wait for the rest of the turn."""

    __slots__ = ("_depth", "_dirty")

    def __init__(self) -> None:
        self._depth = 0
        self._dirty: list[Connection] = []

    @property
    def holding(self) -> bool:
        return self._depth > 0

    def add(self, conn: Connection) -> None:
        self._dirty.append(conn)

    def __enter__(self) -> None:
        self._depth += 1

    def __exit__(self, *_: object) -> None:
        self._depth -= 1
        if self._depth:
            return
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            try:
                conn.flush()
            except Exception as exc:  # one socket's failure must not keep the others waiting
                log.debug("flush failed: %s", exc)


corked = Corked()


class Connection:
    """Most sockets never need their queue: every frame is written at once. The queue,
    and the writer task that drains it through ASGI, exist only while frames wait (an
    idle socket holds neither: issue 19's memory per connection)."""

    __slots__ = (
        "_close_reason", "_corked", "_direct", "_queue", "_queue_size", "_send", "_sending",
        "_writer", "close_code", "device", "expires_at", "family_id", "id",
        "profile", "state", "subscriptions", "user_id",
    )  # fmt: skip

    def __init__(
        self,
        connection_id: str,
        user_id: UUID,
        device: str,
        send: Send,
        queue_size: int,
        profile: Any,
        expires_at: float = float("inf"),
        family_id: UUID | None = None,
    ) -> None:
        self.id = connection_id
        self.user_id = user_id
        self.device = device
        self.profile = profile  # the user's public profile, for presence
        # when the access token that opened (or last renewed) the socket expires, epoch
        # seconds, and the login it belongs to: the hub closes the socket at expiry and
        # when that login is revoked
        self.expires_at = expires_at
        self.family_id = family_id
        self.subscriptions: dict[str, Subscription] = {}
        self.state = State.OPEN
        self._send = send
        self._direct = direct_writer(send)
        self._sending = False  # the writer has taken a frame off the queue
        # the bytes of the frames held by `corked`, while there are any
        self._corked: list[bytes] | None = None
        self._queue: deque[str] | None = None  # frames waiting, while there are any
        self._queue_size = queue_size
        self._writer: asyncio.Task[None] | None = None
        self._close_reason = ""
        self.close_code: int | None = None

    def push(self, text: str, framed: bytes | None = None) -> bool:
        """Send a frame (`framed`: its bytes on the wire, when the caller sends the same
        frame to many sockets). Written at once, or when the `corked` block around it
        ends, if nothing waits before it and the socket has room (True); else queued, and
        a full queue closes the connection as a slow consumer."""
        if self.state is not State.OPEN:
            return False
        # never ahead of a frame that is queued or being sent: order is the protocol's
        if self._direct is not None and not self._queue and not self._sending:
            framed = framed or text_frame(text)
            if corked.holding:
                if self._corked is None:
                    self._corked = [framed]
                    corked.add(self)
                else:
                    self._corked.append(framed)
                return True
            if self._direct.try_write(framed):
                return True
        self._queue_or_close(text)
        return False

    def flush(self) -> None:
        """Write the held frames in one go; a socket without room for them queues them
        instead."""
        held, self._corked = self._corked, None
        if not held or self.state is not State.OPEN:
            return
        assert self._direct is not None
        if self._direct.try_write(held[0] if len(held) == 1 else b"".join(held)):
            return
        metrics.EVENTS_QUEUED.inc(len(held))  # counted as written when given
        for framed in held:
            if self.state is not State.OPEN:  # closed as a slow consumer on the way
                return
            self._queue_or_close(text_of(framed))

    def _queue_or_close(self, text: str) -> None:
        if self._queue is not None and len(self._queue) >= self._queue_size:
            metrics.SLOW_CONSUMER_CLOSES.inc()
            self.close(CLOSE_SLOW, "slow consumer")
            return
        self._enqueue(text)

    def _enqueue(self, text: str) -> None:
        if self._queue is None:
            self._queue = deque()
        if self._corked:  # given before this one (a close, say): they go first
            self._queue.extend(map(text_of, self._corked))
            self._corked = None
        self._queue.append(text)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer-{self.id}")

    def close(self, code: int, reason: str = "") -> None:
        """Close after what is queued is sent (or at once for a slow consumer)."""
        if self.state is not State.OPEN:
            return
        self.state = State.CLOSING
        self.close_code = code
        if code == CLOSE_SLOW and self._queue is not None:
            self._queue.clear()
        self._close_reason = reason
        self._enqueue("")  # the marker: close here

    async def wait_closed(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def stop(self) -> None:
        """The socket is gone: stop writing."""
        self.state = State.CLOSED
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write_loop(self) -> None:
        """Drain the queue (frames queued meanwhile included), then end: the socket goes
        back to holding no writer and no queue until a frame has to wait again."""
        queue = self._queue
        assert queue is not None
        try:
            while queue:
                text = queue.popleft()
                self._sending = True
                if text == "":  # the marker: close here
                    await self._send(
                        {"type": "websocket.close", "code": self.close_code,
                         "reason": self._close_reason}
                    )  # fmt: skip
                    self.state = State.CLOSED
                    return
                await self._send({"type": "websocket.send", "text": text})
                self._sending = False
            self._writer = self._queue = None
        except Exception as exc:  # the client went away mid-send (uvicorn raises several kinds)
            log.debug("writer stopped: %s", exc)
            self.state = State.CLOSED

    @property
    def queued(self) -> int:
        return len(self._queue) if self._queue is not None else 0
