"""Fan-out (issue 3): 1 publisher, N subscribers of one book channel on ONE server process,
clients in P other processes; the same clients against a bare `websockets` broadcast
server in the same run. Prints sustained deliveries/s per rate step and publish-to-delivery
latency (event `ts` = the write's transaction time, to client receipt). The publisher
edits a public highlight (one book event per write, as the bare server's one frame per
publish); `--op create` creates public highlights instead (two events back to back:
the highlight and the book's counters). The server runs as deployed: REDIS_URL set, so
events go through Redis pub/sub and no jobs run in the web process.

    python -m tests.bench.bench_fanout [--subscribers 1000] [--processes 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from websockets.asyncio.client import connect

from tests.bench.harness import (
    Bench,
    SubscriberFleet,
    free_port,
    log,
    make_books,
    make_users,
    percentile,
    production_redis,
    server_env,
    start_server,
    summary,
    tokens_for,
    window,
)

Step = tuple[int, float, float, int]  # events/s, start, end, events sent


async def _drive(send_one: Any, rates: list[int], step_s: float) -> list[Step]:
    """Send at each rate for `step_s`; a first step at the first rate warms the path
    (prepared statements, caches) and is not reported."""
    steps = []
    for rate in [rates[0], *rates]:
        start = time.time()
        n = 0
        while time.time() - start < step_s:
            due = start + n / rate
            if due > time.time():
                await asyncio.sleep(due - time.time())
            await send_one()
            n += 1
        steps.append((rate, start, time.time(), n))
        await asyncio.sleep(1.5)  # let the step drain before the next
    return steps[1:]


def _report(name: str, n: int, steps: list[Step], counts: dict[int, int],
            lats: dict[int, list[float]]) -> dict[int, tuple[float, float, bool]]:  # fmt: skip
    out = {}
    for rate, start, end, sent in steps:
        # everything received from the step's start to 1.5 s after its end (the drain)
        seconds = range(int(start), int(end + 1.5))
        delivered = sum(counts.get(s, 0) for s in seconds)
        _, samples = window(counts, lats, start - 1, end + 1.5)
        per_s = delivered / (end - start)
        share = delivered / (sent * n)
        p99 = percentile(samples, 99) * 1000
        kept_up = share >= 0.97 and p99 < 1000
        out[rate] = (per_s, p99, kept_up)
        log(f"  {name:9} {rate:4d} events/s -> {per_s:9.0f} deliveries/s "
            f"({share:.1%} of {sent * n}), {summary(samples)}"
            f"{'' if kept_up else '  [fell behind]'}")  # fmt: skip
    return out


async def bookmind(
    n: int, processes: int, rates: list[int], step_s: float, op: str
) -> dict[int, Any]:
    async with Bench() as bench:
        owner, *subscribers = await make_users(bench.url, n + 1)
        (book,) = await make_books(bench.url, [owner], public=True)
        env = server_env(bench.url, WS_RATE_BURST="100000", WS_RATE_PER_S="100000",
                         **production_redis())  # fmt: skip
        server = await start_server(env)
        try:
            fleet = SubscriberFleet(
                server.ws_url, tokens_for(subscribers), f"book:{book}", processes
            )
            log(f"  bookmind: {await fleet.ready()} subscribers connected")
            (token,) = tokens_for([owner])
            pub = await connect(server.ws_url, compression=None, max_size=None)
            await pub.send(json.dumps({"type": "hello", "token": token, "device": "pub"}))
            await pub.recv()
            body = {"book_id": str(book), "selected_text": "Call me Ishmael. " * 8,
                    "page_number": 1, "start_offset": 0, "end_offset": 136, "public": True}  # fmt: skip
            await pub.send(json.dumps({"type": "call", "id": "first",
                                       "method": "highlight.create", "params": body}))  # fmt: skip
            while (first := json.loads(await pub.recv())).get("id") != "first":
                pass
            drain = asyncio.create_task(_drain(pub))
            edits = 0

            async def update() -> None:  # one book event: highlight.updated
                nonlocal edits
                edits += 1
                params = {"id": first["result"]["id"], "note": f"edit {edits}"}
                await pub.send(json.dumps({"type": "call", "method": "highlight.update",
                                           "params": params}))  # fmt: skip

            async def create() -> None:  # two book events: highlight.created + book.stats
                await pub.send(json.dumps({"type": "call", "method": "highlight.create",
                                           "params": body}))  # fmt: skip

            if op == "update":
                steps = await _drive(update, rates, step_s)
            else:
                steps = await _drive(create, [r // 2 for r in rates], step_s)
                steps = [(r * 2, s, e, sent * 2) for r, s, e, sent in steps]
            counts, lats = await fleet.results()
            drain.cancel()
            await pub.close()
            return _report("bookmind", n, steps, counts, lats)
        finally:
            server.stop()


async def _drain(ws: Any) -> None:
    async for _ in ws:
        pass


async def bare(n: int, processes: int, rates: list[int], step_s: float) -> dict[int, Any]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_broadcast", str(port)])
    try:
        await asyncio.sleep(1.0)
        url = f"ws://127.0.0.1:{port}"
        fleet = SubscriberFleet(url, [None] * n, None, processes)
        log(f"  bare: {await fleet.ready()} subscribers connected")
        pub = await connect(url, compression=None)

        async def one() -> None:
            await pub.send("pub")

        steps = await _drive(one, rates, step_s)
        counts, lats = await fleet.results()
        await pub.close()
        return _report("bare", n, steps, counts, lats)
    finally:
        proc.terminate()
        proc.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--rates", default="10,20,30,40,60,80")
    parser.add_argument("--step", type=float, default=6.0)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--op", choices=["update", "create"], default="update",
                        help="update: one book event per write (a public highlight's note "
                             "edited); create: a public highlight, two events back to back")  # fmt: skip
    args = parser.parse_args()
    rates = [int(r) for r in args.rates.split(",")]
    log(f"fan-out: {args.subscribers} subscribers in {args.processes} client processes, "
        f"one server process, steps of {args.step:.0f} s")  # fmt: skip
    ours = await bookmind(args.subscribers, args.processes, rates, args.step, args.op)
    if args.no_baseline:
        return
    base = await bare(args.subscribers, args.processes, rates, args.step)
    best_base = max((v[0] for v in base.values() if v[2]), default=0.0)
    best_ours = max((v[0] for v in ours.values() if v[2]), default=0.0)
    log(f"highest sustained: bookmind {best_ours:.0f}/s, bare {best_base:.0f}/s, "
        f"ratio {best_ours / best_base:.0%}" if best_base else "no sustained step")  # fmt: skip
    if 10 in ours:
        log(f"at 10 events/s ({10 * args.subscribers} deliveries/s): "
            f"bookmind p99 {ours[10][1]:.1f} ms, bare p99 {base[10][1]:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
