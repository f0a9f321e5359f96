"""Durable writes (issues 3, 19): highlights created (or, with `--op`, reading positions
moved on, bookmarks, annotations or reading sessions created, auto bookmarks moved)
through WebSocket `call` by D connected devices (closed loop: send, wait for the ack,
repeat), clients in P processes. Each ack
means the row and its event are committed. Baselines in the same run: bare asyncpg
single-row INSERT transactions at the same concurrency on the same database (what one
commit per write gets from PostgreSQL on this machine), and the same devices against a
bare `websockets` server that acks each call and echoes it to the user's devices without
storing anything (the ceiling Python sockets set for this traffic).

    python -m tests.bench.bench_writes [--devices 200] [--processes 2] [--seconds 10]
    python -m tests.bench.bench_writes --op progress|bookmark|auto|annotation|session
    python -m tests.bench.bench_writes --op session-end|delete|update

`session-end` alternates `session.start` and `session.end` of the session just started,
`delete` alternates `highlight.create` and `highlight.delete` of the highlight just made;
the rate counts both calls. `update` creates one highlight per device, then changes its
colour and note at every call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import msgspec

from tests.bench.harness import (
    Bench,
    CpuMeter,
    cpu_line,
    free_port,
    log,
    make_books,
    make_users,
    percentile,
    production_redis,
    server_env,
    start_server,
    tokens_for,
)


class _Answer(msgspec.Struct):
    """All a device reads of a frame: msgspec skips the rest without building it."""

    type: str
    id: str | None = None


_read_answer = msgspec.json.Decoder(_Answer).decode
Job = tuple[str, str, str]  # a device's token, its book, its write (--op)


def _params(op: str, book: str, n: int, last: object) -> tuple[str, dict[str, object]]:
    """The `n`-th call a device makes (`last`: the id its previous call created)."""
    if op in ("session-end", "delete") and n % 2 == 0:  # ends or deletes what n - 1 made
        if op == "delete":
            return "highlight.delete", {"id": last}
        return "session.end", {"id": last, "end_page": 2, "words_read": 250}
    if op == "update" and n > 1:
        colour = ("yellow", "blue", "green", "pink")[n % 4]
        return "highlight.update", {"id": last, "color": colour, "note": f"Note {n}"}
    if op == "session-end":
        op = "session"
    if op in ("delete", "update"):
        op = "highlight"
    if op == "progress":
        return "progress.update", {"book_id": book, "current_page": 1 + n // 40,
                                   "current_character_offset": n * 50,
                                   "progress_percentage": min(1.0, n / 100_000)}  # fmt: skip
    if op == "bookmark":
        return "bookmark.create", {"id": str(uuid.uuid4()), "book_id": book,
                                   "title": f"Mark {n}", "page_number": 1 + n // 40}  # fmt: skip
    if op == "auto":
        return "bookmark.auto", {"book_id": book, "page_number": 1 + n // 40}
    if op == "session":
        return "session.start", {"id": str(uuid.uuid4()), "book_id": book,
                                 "start_page": 1 + n // 40}  # fmt: skip
    if op == "annotation":
        return "annotation.create", {"id": str(uuid.uuid4()), "book_id": book,
                                     "annotation_type": "text", "content": f"Note {n}",
                                     "page_number": 1 + n // 40}  # fmt: skip
    return "highlight.create", {"id": str(uuid.uuid4()), "book_id": book,
                                "selected_text": "Call me Ishmael.", "page_number": 1,
                                "start_offset": 0, "end_offset": 16}  # fmt: skip


async def _device(url: str, token: str, book: str, until: float, warm: float,
                  op: str) -> list[float]:  # fmt: skip
    from websockets.asyncio.client import connect

    ws = await connect(url, compression=None, max_size=None, ping_interval=None)
    await ws.send(json.dumps({"type": "hello", "token": token, "device": uuid.uuid4().hex[:8]}))
    await ws.recv()
    latencies = []
    n = 0
    last: object = None
    while time.time() < until:
        n += 1
        rid = f"w{n}"
        method, params = _params(op, book, n, last)
        last = params.get("id")
        sent = time.perf_counter()
        await ws.send(json.dumps({"type": "call", "id": rid, "method": method,
                                  "params": params}))  # fmt: skip
        while True:  # events for this user's devices arrive too: skip them
            raw = await ws.recv()
            frame = _read_answer(raw)
            if frame.id == rid:
                break
        if frame.type != "ack":
            raise RuntimeError(raw)
        if time.time() >= warm:
            latencies.append(time.perf_counter() - sent)
    await ws.close()
    return latencies


def _devices_process(url: str, jobs: list[Job], start_at: float, warm_s: float,
                     seconds: float, out: Any) -> None:  # fmt: skip
    async def main() -> list[float]:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        until = start_at + warm_s + seconds
        runs = await asyncio.gather(
            *(_device(url, t, b, until, start_at + warm_s, op) for t, b, op in jobs)
        )
        return [v for r in runs for v in r]

    out.send(asyncio.run(main()))


Run = tuple[float, list[float], dict[str, float]]  # writes/s, latencies, CPU µs per write


async def bookmind(
    devices: int,
    processes: int,
    seconds: float,
    url: str,
    per_user: int,
    pool: int,
    servers: int,
    op: str,
) -> Run:
    users = await make_users(url, devices // per_user)
    books = await make_books(url, users, public=False)
    tokens = tokens_for(users)
    jobs = [(tokens[i // per_user], str(books[i // per_user]), op) for i in range(devices)]
    # more than one web process: they share events through Redis, as in production
    redis = production_redis() if servers > 1 else {}
    env = server_env(url, WS_RATE_BURST="100000", WS_RATE_PER_S="100000", DB_POOL_MAX=str(pool),
                     **redis)  # fmt: skip
    web = [await start_server(env) for _ in range(servers)]
    try:
        pids = [w.proc.pid for w in web if w.proc is not None]
        return await _drive([w.ws_url for w in web], jobs, processes, seconds, pids)
    finally:
        for server in web:
            server.stop()


async def bare_ws(jobs: list[Job], processes: int, seconds: float) -> Run:
    """The same devices against the bare `websockets` server (tests/bench/bare_broadcast):
    each call acked and echoed to the user's devices, nothing stored: the ceiling Python
    sockets set for this traffic on this machine."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_broadcast", str(port)])
    try:
        await asyncio.sleep(1.0)  # the server's start-up
        return await _drive([f"ws://127.0.0.1:{port}"], jobs, processes, seconds, [proc.pid])
    finally:
        proc.terminate()
        proc.wait(10)


async def _drive(urls: list[str], jobs: list[Job], processes: int, seconds: float,
                 server_pids: list[int]) -> Run:  # fmt: skip
    ctx = mp.get_context("spawn")
    start_at = time.time() + 6  # time for every device to connect
    warm_s = 2.0
    pipes, procs = [], []
    for i in range(processes):
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_devices_process,
                           args=(urls[i % len(urls)], jobs[i::processes], start_at, warm_s,
                                 seconds, child))  # fmt: skip
        proc.start()
        pipes.append(parent)
        procs.append(proc)
    meter = CpuMeter({"server": server_pids, "clients": [p.pid for p in procs if p.pid]})
    await asyncio.sleep(max(0.0, start_at + warm_s - time.time()))
    meter.start()
    await asyncio.sleep(seconds)
    latencies: list[float] = []
    for pipe in pipes:
        while not pipe.poll(0.2):
            await asyncio.sleep(0.2)
        latencies += pipe.recv()
    cpu = meter.per_op_us(len(latencies))  # read before the clients exit
    for proc in procs:
        proc.join(30)
    return len(latencies) / seconds, latencies, cpu


async def baseline(devices: int, seconds: float, url: str) -> Run:
    """Single-row INSERT into a two-column table, one transaction each, `devices`
    concurrent writers over a pool the size of the server's: the issue's baseline."""
    async with _pool(url) as pool:
        await pool.execute("CREATE TABLE IF NOT EXISTS bench_rows (id uuid PRIMARY KEY, body text)")
        return await _single_rows(pool, devices, seconds, "INSERT INTO bench_rows VALUES ($1, $2)",
                                  lambda _: (uuid.uuid4(), "Call me Ishmael."))  # fmt: skip


async def baseline_highlight_rows(devices: int, seconds: float, url: str, per_user: int) -> Run:
    """The same, of the row a highlight is: the `highlights` table with the seed's 18
    indexes (two of them GIN), its foreign keys and its trigger, but no event, no
    counters, no checks: what one commit per highlight gets from PostgreSQL."""
    users = await make_users(url, devices // per_user)
    books = await make_books(url, users, public=False)
    text = "Call me Ishmael. " * 8
    async with _pool(url) as pool:
        return await _single_rows(
            pool, devices, seconds,
            """INSERT INTO highlights (id, user_id, book_id, selected_text, word_count,
                   character_count, page_number, start_offset, end_offset, color, color_hex)
               VALUES ($1, $2, $3, $4, 24, 136, 1, 0, 136, 'yellow', '#FEF3C7')""",
            lambda i: (uuid.uuid4(), users[i // per_user], books[i // per_user], text),
        )  # fmt: skip


@contextlib.asynccontextmanager
async def _pool(url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(url, min_size=20, max_size=20)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()


async def _single_rows(pool: asyncpg.Pool, devices: int, seconds: float, sql: str,
                       args: Callable[[int], tuple[Any, ...]]) -> Run:  # fmt: skip
    until = time.time() + seconds
    latencies: list[float] = []
    meter = CpuMeter({"clients": [os.getpid()]})
    meter.start()

    async def writer(i: int) -> None:
        while time.time() < until:
            sent = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(sql, *args(i))
            latencies.append(time.perf_counter() - sent)

    await asyncio.gather(*(writer(i) for i in range(devices)))
    return len(latencies) / seconds, latencies, meter.per_op_us(len(latencies))


def _line(name: str, rate: float, latencies: list[float]) -> str:
    ms = [v * 1000 for v in latencies]
    return (f"  {name:30} {rate:8.0f} acknowledged writes/s, "
            f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms")  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--devices-per-user", type=int, default=2)
    parser.add_argument("--pool", type=int, default=20, help="the server's DB_POOL_MAX")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--servers", type=int, default=1, help="web processes (2+: via Redis)")
    ops = ["highlight", "progress", "bookmark", "auto", "annotation", "session", "session-end",
           "delete", "update"]  # fmt: skip
    parser.add_argument("--op", choices=ops, default="highlight", help="each device's write")
    args = parser.parse_args()
    log(f"durable writes ({args.op}): {args.devices} devices in {args.processes} client processes, "
        f"{args.seconds:.0f} s measured after 2 s warm-up, one server process")  # fmt: skip
    async with Bench() as bench:
        if not args.no_baseline:
            rate, lat, cpu = await baseline(args.devices, args.seconds, bench.url)
            log(_line("baseline: bare INSERT+COMMIT", rate, lat))
            log(cpu_line(cpu))
            if args.op == "highlight":
                rate, lat, cpu = await baseline_highlight_rows(
                    args.devices, args.seconds, bench.url, args.devices_per_user
                )
                log(_line("baseline: highlight row INSERT+COMMIT", rate, lat))
                log(cpu_line(cpu))
            users = [f"bare{i // args.devices_per_user}" for i in range(args.devices)]
            jobs = [(u, "b", args.op) for u in users]
            rate, lat, cpu = await bare_ws(jobs, args.processes, args.seconds)
            log(_line("baseline: bare websockets ack", rate, lat))
            log(cpu_line(cpu))
        rate, lat, cpu = await bookmind(args.devices, args.processes, args.seconds, bench.url,
                                        args.devices_per_user, args.pool, args.servers,
                                        args.op)  # fmt: skip
        log(_line(f"bookmind: {args.servers} web process(es)", rate, lat))
        log(cpu_line(cpu))


if __name__ == "__main__":
    asyncio.run(main())
