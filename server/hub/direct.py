"""Reaching into uvicorn's socket: writing a frame straight to its transport, skipping
the ASGI send path, and slimming an open socket down (`slim_down`).

Through ASGI every frame to every subscriber costs a writer-task wake-up, a message
dict, the server's checks, an encode of the text and a frame serialization: for one
event to 1,000 readers that is 1,000 of each, and the last reader hears of the event
tens of milliseconds after the first (docs/benchmarks.md: p99 66 ms through ASGI,
29 ms written directly). A server frame is not masked, so with no extension
negotiated its bytes are the same for every socket: the hub frames an event once and
writes those bytes to each transport whose buffer has room.

This reaches into uvicorn's sans-I/O websockets protocol (the one uvicorn picks when
`websockets` is installed; pinned in pyproject.toml). A socket served any other way,
or with permessage-deflate negotiated (each socket compresses with its own context),
gets no writer and keeps the ASGI path; so does a socket whose buffer is full, where
the connection's queue and its slow-consumer close take over.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State


def text_frame(text: str) -> bytes:
    """The bytes of one unmasked, unfragmented, uncompressed text frame."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


def text_of(framed: bytes) -> str:
    """The text of a frame made by `text_frame` (a server frame is never masked)."""
    size = framed[1] & 0x7F
    start = 2 if size < 126 else 4 if size == 126 else 10
    return framed[start:].decode()


class DirectWriter:
    __slots__ = ("_proto",)

    def __init__(self, proto: WebSocketsSansIOProtocol) -> None:
        self._proto = proto

    def try_write(self, framed: bytes) -> bool:
        """Write now if the socket is open and its buffer below the high-water mark."""
        proto = self._proto
        if (
            proto.conn.state is not State.OPEN
            or not proto.writable.is_set()
            or proto.transport.is_closing()
        ):
            return False
        proto.transport.write(framed)
        return True


class Inbox:
    """What uvicorn's socket needs of its incoming queue (`put_nowait`, `get`, `empty`),
    for one reader. An `asyncio.Queue` holds four deques (items, getters, putters, and
    its `finished` event's waiters), about 2.4 KiB per idle socket; this holds a list
    and, while the app waits, one future."""

    __slots__ = ("_items", "_waiter")

    def __init__(self, items: list[Any]) -> None:
        self._items = items
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


def slim_down(send: Callable[..., Any]) -> None:
    """Once the socket is open, drop what uvicorn keeps of its opening handshake (the
    request and response with their headers, the scope's copy of the headers), which
    nothing reads again, and give it a lighter incoming queue. For an idle socket these
    were over a quarter of its memory (issue 19, docs/benchmarks.md). The scope is the
    dict every ASGI layer was given, so clearing it there clears it for all of them.
    Called between two `receive`s: nobody waits on the old queue."""
    proto = getattr(send, "__self__", None)
    if isinstance(proto, WebSocketsSansIOProtocol) and proto.handshake_complete:
        proto.request = proto.response = None  # type: ignore[assignment]
        proto.scope["headers"] = []
        old = proto.queue
        proto.queue = Inbox([old.get_nowait() for _ in range(old.qsize())])  # type: ignore[assignment]


def direct_writer(send: Callable[..., Any]) -> DirectWriter | None:
    """A writer for the socket behind an ASGI `send`, or None to keep the ASGI path."""
    proto = getattr(send, "__self__", None)
    if isinstance(proto, WebSocketsSansIOProtocol) and not proto.conn.extensions:
        return DirectWriter(proto)
    return None
