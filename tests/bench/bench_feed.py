"""Fan-out to followers (issue 6): an author with N followers, C of them connected, writes
public highlights; how long is the write (the ack), and how long until every connected
follower has the `feed.item`? Baseline in the same run: the same writes by an author
nobody follows.

    python -m tests.bench.bench_feed [--followers 10000] [--connected 1000] [--writes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from typing import Any

from websockets.asyncio.client import connect

from tests.bench.harness import (
    Bench,
    log,
    make_books,
    make_users,
    percentile,
    server_env,
    start_server,
    tokens_for,
)


def ms(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"p50 {percentile(v, 50):6.1f} ms, p99 {percentile(v, 99):6.1f} ms"


async def _followers_main(url: str, tokens: list[str], out: Any, stop: Any) -> None:
    sockets = []
    for token in tokens:
        ws = await connect(url, compression=None, max_size=None, open_timeout=60,
                           ping_interval=None)  # fmt: skip
        await ws.send(json.dumps({"type": "hello", "token": token, "device": "bench"}))
        await ws.recv()
        sockets.append(ws)
    out.send(("ready", len(sockets)))
    arrivals: dict[str, list[float]] = {}

    async def read(ws: Any) -> None:
        async for message in ws:
            if '"feed.item"' in message:
                item = json.loads(message)["data"]["item"]["id"]
                arrivals.setdefault(item, []).append(time.time())

    readers = [asyncio.create_task(read(ws)) for ws in sockets]
    while not stop.is_set():
        await asyncio.sleep(0.2)
    for task in readers:
        task.cancel()
    out.send(("result", arrivals))
    for ws in sockets:
        await ws.close()


def _followers_process(url: str, tokens: list[str], out: Any, stop: Any) -> None:
    asyncio.run(_followers_main(url, tokens, out, stop))


async def _writes(url: str, token: str, book: str, count: int) -> dict[str, tuple[float, float]]:
    """Public highlights one after another; each id -> (sent, acked) wall-clock times."""
    ws = await connect(url, compression=None, max_size=None, ping_interval=None)
    await ws.send(json.dumps({"type": "hello", "token": token, "device": "author"}))
    await ws.recv()
    times = {}
    for i in range(count):
        sent = time.time()
        await ws.send(json.dumps({"type": "call", "id": f"w{i}", "method": "highlight.create",
                                  "params": {"book_id": book, "selected_text": f"line {i}",
                                             "page_number": 1, "start_offset": i,
                                             "end_offset": i + 5, "public": True}}))  # fmt: skip
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("id") == f"w{i}":
                break
        assert frame["type"] == "ack", frame
        times[frame["result"]["id"]] = (sent, time.time())
        await asyncio.sleep(0.02)  # a reader's pace, not a flood
    await ws.close()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--connected", type=int, default=1_000)
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    async with Bench() as bench:
        author, loner, *fans = await make_users(bench.url, args.followers + 2)
        import asyncpg

        conn = await asyncpg.connect(bench.url)
        await conn.execute(
            """INSERT INTO follows (follower_id, followee_id) SELECT f, $1 FROM unnest($2::uuid[]) f""",
            author, fans,
        )  # fmt: skip
        await conn.execute("UPDATE users SET followers_count = $2 WHERE id = $1", author, len(fans))
        await conn.close()
        book, lonely_book = await make_books(bench.url, [author, loner], public=True)
        server = await start_server(server_env(bench.url))
        try:
            tokens = tokens_for([author, loner, *fans[: args.connected]])
            ctx = mp.get_context("spawn")
            stop = ctx.Event()
            pipes, procs = [], []
            for i in range(args.processes):
                parent, child = ctx.Pipe()
                mine = tokens[2 + i :: args.processes][: args.connected]
                proc = ctx.Process(target=_followers_process,
                                   args=(server.ws_url, mine, child, stop), daemon=True)  # fmt: skip
                proc.start()
                pipes.append(parent)
                procs.append(proc)
            connected = 0
            for pipe in pipes:
                connected += (await asyncio.to_thread(pipe.recv))[1]
            log(f"{args.followers} followers, {connected} connected; {args.writes} public "
                "highlights each:")  # fmt: skip
            baseline = await _writes(server.ws_url, tokens[1], str(lonely_book), args.writes)
            followed = await _writes(server.ws_url, tokens[0], str(book), args.writes)
            await asyncio.sleep(2)
            stop.set()
            arrivals: dict[str, list[float]] = {}
            for pipe in pipes:
                _, part = await asyncio.to_thread(pipe.recv)
                for item, when in part.items():
                    arrivals.setdefault(item, []).extend(when)
            for proc in procs:
                proc.join(10)
            base_ack = [a - s for s, a in baseline.values()]
            ack = [a - s for s, a in followed.values()]
            log(f"  baseline: author with no followers   write ack {ms(base_ack)}")
            log(f"  bookmind: author with {args.followers} followers write ack {ms(ack)}")
            reach = [when - followed[item][1] for item, whens in arrivals.items()
                     if item in followed for when in whens]  # fmt: skip
            complete = sum(len(arrivals.get(item, [])) == connected for item in followed)
            last = [
                max(arrivals[item]) - followed[item][1] for item in followed if item in arrivals
            ]
            log(f"  feed.item after the ack, per follower: {ms(reach)}; every connected follower "
                f"reached in {ms(last)}")  # fmt: skip
            log(f"  items that reached all {connected} connected followers: {complete}/{len(followed)}"
                f" ({len(reach)} deliveries)")  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())
