"""The baseline: a bare `websockets` server that only broadcasts. A client that sends
`pub` makes it broadcast one event frame (as large as BookMind's `highlight.created`)
to every other socket. For the durable-writes benchmark it also answers BookMind's
frames without doing anything durable: `hello` gets a welcome, each `call` an ack and
an event frame sent to every socket of the same token (a user's devices, as BookMind's
user channel). `pubcall` broadcasts the same way and then answers `ok` to its sender
(the closed loop: the next publish waits for it, as a writer waits for its ack).
`python -m tests.bench.bare_broadcast PORT`."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, broadcast, serve


def _highlight(**fields: object) -> dict[str, object]:
    """An event's data the size of BookMind's `highlight.created` (every field of a
    Highlight), so that each frame carries the bytes BookMind's does (892 bytes for the
    fan-out's; the bare frame was 409 before, which flattered the baseline)."""
    now = datetime.now(UTC).isoformat()
    return {
        "id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "book_id": str(uuid.uuid4()),
        "book_chapter_id": None, "selected_text": "Call me Ishmael. " * 8, "word_count": 24,
        "character_count": 136, "page_number": 1, "start_offset": 0, "end_offset": 136,
        "position_data": {}, "color": "yellow", "color_hex": "#FEF3C7", "category": None,
        "note": None, "tags": [], "public": True, "ai_explanation": None,
        "ai_importance_score": None, "ai_analysis": {}, "shares_count": 0,
        "device_type": "pub", "created_at": now, "updated_at": now, "orphaned": False,
        **fields,
    }  # fmt: skip


PAD = _highlight()
CHANNEL = f"book:{uuid.uuid4()}"


def _event(channel: str, seq: int, data: object) -> str:
    return json.dumps({"type": "event", "channel": channel, "seq": seq,
                       "event": "highlight.created", "data": data,
                       "ts": datetime.now(UTC).isoformat(), "origin": "pub"})  # fmt: skip


async def main(port: int) -> None:
    clients: set[ServerConnection] = set()
    seq = 0

    devices: dict[str, set[ServerConnection]] = {}

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        clients.add(ws)
        token = ""
        try:
            async for message in ws:
                if message in ("pub", "pubcall"):
                    seq += 1
                    broadcast([c for c in clients if c is not ws], _event(CHANNEL, seq, PAD))
                    if message == "pubcall":
                        await ws.send("ok")
                    continue
                request = json.loads(message)
                if request["type"] == "hello":
                    token = request["token"]
                    devices.setdefault(token, set()).add(ws)
                    await ws.send(json.dumps({"type": "welcome"}))
                elif request["type"] == "call":
                    seq += 1
                    data = request["params"]
                    if request["method"].startswith("highlight."):  # BookMind answers a whole one
                        data = _highlight(**data)
                    await ws.send(json.dumps({"type": "ack", "id": request["id"], "result": data}))
                    broadcast(devices[token], _event(f"user:{token[:36]}", seq, data))
        finally:
            clients.discard(ws)
            devices.get(token, set()).discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=None,
                     ping_interval=None):  # fmt: skip
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
