"""The baseline: a bare `websockets` server that only broadcasts. A client that sends
`pub` makes it broadcast one event frame (of about BookMind's size) to every other
socket. For the durable-writes benchmark it also answers BookMind's frames without
doing anything durable: `hello` gets a welcome, each `call` an ack and an event frame
sent to every socket of the same token (a user's devices, as BookMind's user channel).
`pubcall` broadcasts the same way and then answers `ok` to its sender (the closed
loop: the next publish waits for it, as a writer waits for its ack).
`python -m tests.bench.bare_broadcast PORT`."""

from __future__ import annotations

import asyncio
import json
import sys
import time

from websockets.asyncio.server import ServerConnection, broadcast, serve

PAD: dict[str, object] = {"selected_text": "Call me Ishmael. " * 8, "note": None, "tags": [], "color": "yellow",
       "position_data": {}, "page_number": 1, "start_offset": 0, "end_offset": 16}  # fmt: skip


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
                    frame = json.dumps({"type": "event", "channel": "bare", "seq": seq,
                                        "event": "highlight.created", "data": PAD,
                                        "ts": time.time(), "origin": None})  # fmt: skip
                    broadcast([c for c in clients if c is not ws], frame)
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
                    await ws.send(json.dumps({"type": "ack", "id": request["id"], "result": data}))
                    broadcast(devices[token], json.dumps({"type": "event", "channel": token,
                              "seq": seq, "event": "highlight.created", "data": data,
                              "ts": time.time(), "origin": None}))  # fmt: skip
        finally:
            clients.discard(ws)
            devices.get(token, set()).discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=None,
                     ping_interval=None):  # fmt: skip
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
