"""The baseline: a bare `websockets` server that only broadcasts. A client that sends
`pub` makes it broadcast one event frame (of about BookMind's size) to every other
socket. `python -m tests.bench.bare_broadcast PORT`."""

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

    async def handler(ws: ServerConnection) -> None:
        nonlocal seq
        clients.add(ws)
        try:
            async for message in ws:
                if message == "pub":
                    seq += 1
                    frame = json.dumps({"type": "event", "channel": "bare", "seq": seq,
                                        "event": "highlight.created", "data": PAD,
                                        "ts": time.time(), "origin": None})  # fmt: skip
                    broadcast([c for c in clients if c is not ws], frame)
        finally:
            clients.discard(ws)

    async with serve(handler, "127.0.0.1", port, compression=None, max_size=None,
                     ping_interval=None):  # fmt: skip
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
