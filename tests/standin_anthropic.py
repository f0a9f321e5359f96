"""A local stand-in for the Anthropic Messages API: the one fake the brief allows, at the
edge of the network we cannot reach. It speaks the streaming protocol (message_start,
content_block_start, content_block_delta …, content_block_stop, message_delta with
usage, message_stop) over real HTTP, so the real SDK path runs in the server.

A test sets `next` (or `default`) to a Scenario: tokens with a delay between them, an
error status, a stall, or a connection cut after some tokens. Each request's JSON body
is kept in `requests`, and the time each token was written in `sent_at`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

DEFAULT_TOKENS = ["Alice ", "drinks ", "from ", "the ", "little ", "bottle ", "[1]", "."]


@dataclass
class Scenario:
    tokens: list[str] = field(default_factory=lambda: list(DEFAULT_TOKENS))
    delay_s: float = 0.05
    status: int = 200  # an error status answers at once with the API's error body
    stall_after: int | None = None  # stop sending (keep the connection) after n tokens
    cut_after: int | None = None  # close the connection after n tokens
    input_tokens: int = 321


@dataclass
class StandIn:
    default: Scenario = field(default_factory=Scenario)
    next: list[Scenario] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    sent_at: list[tuple[str, float]] = field(default_factory=list)
    # per request (same order as `requests`): when each of its tokens was written
    sent_by_request: list[list[float]] = field(default_factory=list)
    disconnects: int = 0
    _server: asyncio.Server | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: the SDK reuses connections
                if not await self._one(reader, writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            self.disconnects += 1
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append(json.loads(body) if body else {})
        times: list[float] = []
        self.sent_by_request.append(times)
        scenario = self.next.pop(0) if self.next else self.default
        if scenario.status != 200:
            kind = "rate_limit_error" if scenario.status == 429 else "api_error"
            payload = json.dumps({"type": "error", "error": {"type": kind, "message": kind}})
            writer.write(
                f"HTTP/1.1 {scenario.status} Error\r\ncontent-type: application/json\r\n"
                f"content-length: {len(payload)}\r\nretry-after: 0\r\n\r\n{payload}".encode()
            )
            await writer.drain()
            return True
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                     b"cache-control: no-cache\r\nconnection: close\r\n\r\n")  # fmt: skip
        model = self.requests[-1].get("model", "claude-test")
        await self._event(writer, "message_start", {"type": "message_start", "message": {
            "id": "msg_standin", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": scenario.input_tokens, "output_tokens": 1}}})  # fmt: skip
        await self._event(writer, "content_block_start", {"type": "content_block_start",
            "index": 0, "content_block": {"type": "text", "text": ""}})  # fmt: skip
        for n, token in enumerate(scenario.tokens):
            if scenario.cut_after is not None and n == scenario.cut_after:
                return False  # closes mid-stream, no message_stop
            if scenario.stall_after is not None and n == scenario.stall_after:
                await self._stopping.wait()
                return False
            await asyncio.sleep(scenario.delay_s)
            await self._event(writer, "content_block_delta", {"type": "content_block_delta",
                "index": 0, "delta": {"type": "text_delta", "text": token}})  # fmt: skip
            now = time.time()
            self.sent_at.append((token, now))
            times.append(now)
        await self._event(writer, "content_block_stop", {"type": "content_block_stop", "index": 0})
        await self._event(writer, "message_delta", {"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": len(scenario.tokens)}})  # fmt: skip
        await self._event(writer, "message_stop", {"type": "message_stop"})
        return False

    @staticmethod
    async def _event(writer: asyncio.StreamWriter, name: str, data: dict[str, Any]) -> None:
        writer.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        await writer.drain()
