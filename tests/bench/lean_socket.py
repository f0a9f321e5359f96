"""A lean WebSocket client for the benchmarks' subscriber processes.

The clients share the machine's two cores with the server under test, so every
microsecond a client spends on a frame is taken from the server and shows up in the
latency tail (MEASURED.md). `websockets`' asyncio client costs a task wake-up, an
assembler and a queue per message; this one runs the library's own sans-I/O protocol
(handshake, framing, unmasking, answering pings, permessage-deflate) straight from
`data_received` and hands each text frame to a callback. The same client drives
BookMind and the bare baseline, so both pay the same per-frame cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

Data = bytes | bytearray | memoryview
OnText = Callable[[Data], None]


class LeanSocket(asyncio.Protocol):
    def __init__(self, url: str, compression: str | None) -> None:
        extensions = [ClientPerMessageDeflateFactory()] if compression == "deflate" else None
        self.ws = ClientProtocol(parse_uri(url), extensions=extensions, max_size=None)
        self.transport: asyncio.WriteTransport | None = None
        loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.inbox: asyncio.Queue[Data] = asyncio.Queue()
        self.on_text: OnText = self.inbox.put_nowait

    @classmethod
    async def connect(cls, url: str, compression: str | None = None) -> LeanSocket:
        uri = parse_uri(url)
        loop = asyncio.get_running_loop()
        _, sock = await loop.create_connection(lambda: cls(url, compression), uri.host, uri.port)
        await sock.opened
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if event.status_code == 101:
                    self.opened.set_result(None)
                else:
                    self.opened.set_exception(ConnectionError(f"handshake: {event.status_code}"))
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                self.on_text(event.data)
        self._flush()  # pongs and the closing handshake

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during handshake"))
        self.closed.set_result(None)

    def send(self, text: str) -> None:
        self.ws.send_text(text.encode())
        self._flush()

    async def recv(self) -> Data:
        """The next text frame, while no callback is set (the handshake and setup)."""
        return await self.inbox.get()

    def close(self) -> None:
        """Start the closing handshake; the server answers and hangs up (`closed`)."""
        self.ws.send_close(1000)
        self._flush()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _flush(self) -> None:
        out = self.ws.data_to_send()
        if out and self.transport is not None:
            self.transport.write(b"".join(out))
