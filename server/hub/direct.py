"""Writing a frame straight to a socket's transport, skipping the ASGI send path.

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

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State


def text_frame(text: str) -> bytes:
    """The bytes of one unmasked, unfragmented, uncompressed text frame."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


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


def direct_writer(send: Callable[..., Any]) -> DirectWriter | None:
    """A writer for the socket behind an ASGI `send`, or None to keep the ASGI path."""
    proto = getattr(send, "__self__", None)
    if isinstance(proto, WebSocketsSansIOProtocol) and not proto.conn.extensions:
        return DirectWriter(proto)
    return None
