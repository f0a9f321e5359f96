"""Fan-out (issue 3): 1 publisher, N subscribers of one book channel on ONE server process,
clients in P other processes; the same clients against a bare `websockets` broadcast
server in the same run. Prints sustained deliveries/s per rate step and publish-to-delivery
latency (event `ts` = the write's transaction time, to client receipt). The publisher
edits a public highlight (one book event per write, as the bare server's one frame per
publish); `--op create` creates public highlights instead (one event each; the book's
counters follow, coalesced). `--closed S` runs the issue-19 load instead: one writer
creating public highlights, each after the previous one's ack, for S seconds; the bare
server's publisher likewise waits for an `ok` after each broadcast. The server runs as
deployed: REDIS_URL set, so events go through Redis pub/sub and no jobs run in the web
process.

    python -m tests.bench.bench_fanout [--subscribers 1000] [--processes 3]
    python -m tests.bench.bench_fanout --closed 10 --subscribers 500 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import connect

from tests.bench.harness import (
    Bench,
    CpuMeter,
    SubscriberFleet,
    cpu_line,
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


@contextlib.asynccontextmanager
async def _book_with_readers(
    n: int, processes: int
) -> AsyncIterator[tuple[SubscriberFleet, Any, dict[str, Any], int]]:
    """A server as deployed, `n` subscribers of a public book, and its owner's socket:
    the fleet, the owner's socket, the body of a public highlight on the book and the
    server's pid."""
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
            assert server.proc is not None
            try:
                yield fleet, pub, body, server.proc.pid
            finally:
                await pub.close()
        finally:
            server.stop()


async def bookmind(
    n: int, processes: int, rates: list[int], step_s: float, op: str
) -> dict[int, Any]:
    async with _book_with_readers(n, processes) as (fleet, pub, body, _):
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

        async def create() -> None:  # highlight.created (book.stats, coalesced, comes apart)
            await pub.send(json.dumps({"type": "call", "method": "highlight.create",
                                       "params": body}))  # fmt: skip

        steps = await _drive(update if op == "update" else create, rates, step_s)
        counts, lats = await fleet.results()
        drain.cancel()
        return _report("bookmind", n, steps, counts, lats)


Closed = tuple[float, float, list[float]]  # writes/s, deliveries/s, latencies


async def _closed_loop(write: Any, seconds: float, fleet: SubscriberFleet, n: int,
                       name: str, server_pid: int) -> Closed:  # fmt: skip
    """`write` (send one, wait for its answer) back to back: 2 s of warm-up, then
    `seconds` measured, with the CPU each write cost the server, the subscribers'
    processes, the writer (this process) and the rest of the machine."""
    warm_until = time.time() + 2.0
    while time.time() < warm_until:
        await write()
    meter = CpuMeter({"server": [server_pid], "subscribers": [p.pid for p in fleet.procs if p.pid],
                      "writer": [os.getpid()]})  # fmt: skip
    meter.start()
    start, writes = time.time(), 0
    while time.time() - start < seconds:
        await write()
        writes += 1
    end = time.time()
    await asyncio.sleep(1.5)  # the last frames' way to the subscribers
    cpu = meter.per_op_us(writes)
    counts, lats = await fleet.results()
    per_s, samples = window(counts, lats, start, end)
    rate = writes / (end - start)
    log(f"  {name:9} closed loop: {rate:7.0f} writes/s, {per_s:9.0f} deliveries/s "
        f"({per_s / max(rate * n, 1):.2f} per subscriber per write), {summary(samples)}")  # fmt: skip
    log(cpu_line(cpu))
    return rate, per_s, samples


async def bookmind_closed(n: int, processes: int, seconds: float) -> Closed:
    async with _book_with_readers(n, processes) as (fleet, pub, body, pid):
        calls = 0

        async def create() -> None:
            nonlocal calls
            calls += 1
            rid = f"c{calls}"
            await pub.send(json.dumps({"type": "call", "id": rid,
                                       "method": "highlight.create", "params": body}))  # fmt: skip
            while (answer := json.loads(await pub.recv())).get("id") != rid:
                pass
            if answer["type"] != "ack":
                raise RuntimeError(answer)

        return await _closed_loop(create, seconds, fleet, n, "bookmind", pid)


@contextlib.asynccontextmanager
async def _bare_with_readers(
    n: int, processes: int
) -> AsyncIterator[tuple[SubscriberFleet, Any, int]]:
    """The bare broadcast server, `n` sockets on it, a publisher's socket and the
    server's pid."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_broadcast", str(port)])
    try:
        await asyncio.sleep(1.0)
        url = f"ws://127.0.0.1:{port}"
        fleet = SubscriberFleet(url, [None] * n, None, processes)
        log(f"  bare: {await fleet.ready()} subscribers connected")
        pub = await connect(url, compression=None)
        try:
            yield fleet, pub, proc.pid
        finally:
            await pub.close()
    finally:
        proc.terminate()
        proc.wait(10)


async def bare_closed(n: int, processes: int, seconds: float) -> Closed:
    async with _bare_with_readers(n, processes) as (fleet, pub, pid):

        async def one() -> None:
            await pub.send("pubcall")
            while await pub.recv() != "ok":
                pass

        return await _closed_loop(one, seconds, fleet, n, "bare", pid)


async def _drain(ws: Any) -> None:
    async for _ in ws:
        pass


async def bare(n: int, processes: int, rates: list[int], step_s: float) -> dict[int, Any]:
    async with _bare_with_readers(n, processes) as (fleet, pub, _):

        async def one() -> None:
            await pub.send("pub")

        steps = await _drive(one, rates, step_s)
        counts, lats = await fleet.results()
        return _report("bare", n, steps, counts, lats)


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
    parser.add_argument("--closed", type=float, default=0.0,
                        help="seconds of the closed loop (one writer, each write after the "
                             "previous ack); 0: the rate grid")  # fmt: skip
    args = parser.parse_args()
    if args.closed:
        await closed(args.subscribers, args.processes, args.closed, not args.no_baseline)
        return
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


async def closed(n: int, processes: int, seconds: float, baseline: bool) -> None:
    log(f"fan-out, closed loop: {n} subscribers in {processes} client processes, one server "
        f"process, one writer, {seconds:.0f} s")  # fmt: skip
    ours = await bookmind_closed(n, processes, seconds)
    if not baseline:
        return
    base = await bare_closed(n, processes, seconds)
    log(f"bookmind/bare: writes {ours[0] / base[0]:.2f}x, "
        f"p99 {percentile(ours[2], 99) * 1000:.1f} vs {percentile(base[2], 99) * 1000:.1f} ms "
        f"({percentile(ours[2], 99) / max(percentile(base[2], 99), 1e-9):.2f}x)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
