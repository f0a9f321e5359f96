"""A WebSocket client for the tests: one reader task collects every frame; helpers wait
for an answer by request id, or for events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

_ids = itertools.count(1)


class WsClient:
    def __init__(self, url: str, token: str, device: str) -> None:
        self.url = url
        self.token = token
        self.device = device
        self.ws: ClientConnection | None = None
        self.frames: list[dict[str, Any]] = []
        self.times: list[float] = []  # when each frame arrived (time.time())
        self.close_code: int | None = None
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def open(
        self,
        resume: dict[str, int] | None = None,
        *,
        hello: bool = True,
        compression: str | None = None,
    ) -> dict[str, Any]:
        self.ws = await connect(self.url, compression=compression, max_size=None, open_timeout=10)
        self._reader = asyncio.create_task(self._read())
        if not hello:
            return {}
        await self.send({"type": "hello", "token": self.token, "device": self.device,
                         "resume": resume or {}})  # fmt: skip
        return await self.wait_for(lambda f: f["type"] == "welcome")

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                frame = json.loads(message)
                async with self._changed:
                    self.times.append(time.time())
                    self.frames.append(frame)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            async with self._changed:
                self._changed.notify_all()

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def wait_for(self, match: Any, timeout: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(timeout), self._changed:
            while True:
                for frame in self.frames:
                    if match(frame):
                        return frame
                if self.close_code is not None:
                    raise ConnectionError(f"closed with {self.close_code} while waiting")
                await self._changed.wait()

    async def request(self, frame: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        """Send a frame with a fresh id; return its ack or error."""
        rid = f"r{next(_ids)}"
        await self.send({**frame, "id": rid})
        return await self.wait_for(
            lambda f: f.get("id") == rid and f["type"] in {"ack", "error", "pong"}, timeout
        )

    async def ask(self, **params: Any) -> list[dict[str, Any]]:
        """Send an ai.ask with a fresh id; return its frames up to the end frame."""
        rid = f"r{next(_ids)}"
        await self.send({"type": "ai.ask", "id": rid, **params})
        return await self.answer_frames(rid)

    async def answer_frames(self, rid: str, timeout: float = 30) -> list[dict[str, Any]]:
        ends = {"ai.completed", "ai.error", "error"}
        await self.wait_for(lambda f: f.get("id") == rid and f["type"] in ends, timeout)
        return [f for f in self.frames if f.get("id") == rid]

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return await self.request({"type": "call", "method": method, "params": params})

    async def subscribe(self, channel: str, since: int | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if since is not None:
            frame["since"] = since
        return await self.request(frame)

    def events(self, channel: str | None = None, event: str | None = None) -> list[dict[str, Any]]:
        return [
            f for f in self.frames
            if f["type"] == "event" and "seq" in f
            and (channel is None or f["channel"] == channel)
            and (event is None or f["event"] == event)
        ]  # fmt: skip

    async def wait_events(
        self, channel: str, count: int, timeout: float = 20
    ) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout), self._changed:
            while len(self.events(channel)) < count:
                if self.close_code is not None:
                    raise ConnectionError(f"closed with {self.close_code}")
                await self._changed.wait()
        return self.events(channel)

    async def wait_closed(self, timeout: float = 10) -> int | None:
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._reader)
        return self.close_code

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        await self.wait_closed()
