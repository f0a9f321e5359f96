"""Capacity (issue 3): N idle authenticated connections on ONE server process (each has
said hello and holds its user channel); memory per connection from the server's RSS
before and after. Baseline in the same run: the bare `websockets` server holding N idle
sockets. `--deflate` also measures BookMind with permessage-deflate on.

    python -m tests.bench.bench_capacity [--connections 10000] [--processes 4]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from uuid import UUID

from tests.bench.harness import (
    Bench,
    SubscriberFleet,
    free_port,
    log,
    make_users,
    rss_kib,
    server_env,
    start_server,
    tokens_for,
)


async def _hold(
    url: str,
    pid: int,
    tokens: list[str | None],
    processes: int,
    idle: float,
    compression: str | None = None,
) -> tuple[int, float, float]:
    before = rss_kib(pid)
    started = time.perf_counter()
    fleet = SubscriberFleet(url, tokens, None, processes, compression)
    connected = await fleet.ready(timeout=600)
    took = time.perf_counter() - started
    await asyncio.sleep(idle)
    after = rss_kib(pid)
    await fleet.results()
    return connected, (after - before) / max(1, connected), connected / took


async def bookmind(
    n: int,
    processes: int,
    url: str,
    users: list[UUID],
    deflate: bool,
    idle: float,
) -> None:
    extra = {"WS_PER_MESSAGE_DEFLATE": "true"} if deflate else {}
    server = await start_server(server_env(url, **extra))
    try:
        assert server.proc is not None
        await asyncio.sleep(2)
        tokens: list[str | None] = list(tokens_for(users))
        # with deflate on, the clients offer it too, as browsers do
        connected, per_conn, rate = await _hold(
            server.ws_url, server.proc.pid, tokens, processes, idle, "deflate" if deflate else None
        )
        name = "bookmind" + (" (deflate on)" if deflate else "")
        log(f"  {name:22} {connected} connections: {per_conn:.1f} KiB each "
            f"(server RSS delta), opened at {rate:.0f}/s")  # fmt: skip
    finally:
        server.stop()


async def bare(n: int, processes: int, idle: float) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bare_broadcast", str(port)])
    try:
        await asyncio.sleep(1.5)
        connected, per_conn, rate = await _hold(f"ws://127.0.0.1:{port}", proc.pid, [None] * n,
                                                processes, idle)  # fmt: skip
        log(f"  {'bare websockets':22} {connected} connections: {per_conn:.1f} KiB each "
            f"(server RSS delta), opened at {rate:.0f}/s")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--deflate", action="store_true")
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds the connections stay idle before the memory is read")  # fmt: skip
    args = parser.parse_args()
    log(f"capacity: {args.connections} idle connections on one server process, "
        f"clients in {args.processes} processes")  # fmt: skip
    await bare(args.connections, args.processes, args.idle)
    async with Bench() as bench:
        users = await make_users(bench.url, args.connections)
        await bookmind(args.connections, args.processes, bench.url, users, False, args.idle)
        if args.deflate:
            await bookmind(args.connections, args.processes, bench.url, users, True, args.idle)


if __name__ == "__main__":
    asyncio.run(main())
