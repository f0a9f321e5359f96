"""What the benchmarks share: a database, a server process, users made in bulk with tokens
minted directly (no argon2 per user), and lean client processes.

Clients run in their own processes (multiprocessing, spawn) so the server under test
and the clients do not share an event loop; on two cores they still share the CPU, as
the bare baseline's clients do in the same run."""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import uvloop

from server.auth import Tokens
from tests.bench.lean_socket import Data, LeanSocket
from tests.services import ROOT, Postgres, ServerProcess, free_port

JWT_SECRET = "bench-secret-" + "x" * 40


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


async def make_users(url: str, count: int) -> list[UUID]:
    conn = await asyncpg.connect(url)
    try:
        names = [f"b{uuid.uuid4().hex[:12]}" for _ in range(count)]
        rows = await conn.fetch(
            """INSERT INTO users (email, username)
               SELECT n || '@bench.local', n FROM unnest($1::text[]) AS n RETURNING id""",
            names,
        )
        return [r["id"] for r in rows]
    finally:
        await conn.close()


async def make_books(url: str, owners: list[UUID], *, public: bool) -> list[UUID]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """INSERT INTO books (user_id, title, visibility, processing_status, file_type)
               SELECT o, 'Bench book', $2, 'completed', 'epub' FROM unnest($1::uuid[]) AS o
               RETURNING id""",
            owners,
            "public" if public else "private",
        )
        return [r["id"] for r in rows]
    finally:
        await conn.close()


def tokens_for(users: list[UUID]) -> list[str]:
    tokens = Tokens(JWT_SECRET, 3600)
    return [tokens.issue(u) for u in users]


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "CHANNEL_PREFIX": "bench" + uuid.uuid4().hex[:6],
        # a benchmark measures the model, even when a test session's smoke run starts it
        "EMBEDDINGS_CACHE": "",
        **extra,
    }


def production_redis() -> dict[str, str]:
    """The web process as deployed: events fan out through Redis pub/sub, and jobs run in
    the worker process (which a benchmark does not start), not in the web process as
    under `make run`, where the scheduled highlight analysis would load the embedding
    model into the process being measured."""
    return {"REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")}


async def start_server(env: dict[str, str]) -> ServerProcess:
    server = ServerProcess(env)
    server.start()
    await server.wait_ready(60)
    return server


@dataclass
class Bench:
    """A fresh database on the session's PostgreSQL."""

    # its own embedded server: a benchmark never disturbs a test session's databases
    pg: Postgres = field(default_factory=lambda: Postgres(ROOT / ".bookmind" / "bench-pg"))
    url: str = ""

    async def __aenter__(self) -> Bench:
        await self.pg.prepare_template()
        self.url = await self.pg.create_database()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.pg.drop_database(self.url)
        self.pg.stop()


# -- client processes ----------------------------------------------------------------------


class _Probe(msgspec.Struct):
    """What a subscriber reads of a frame: durable events carry a seq and a time."""

    type: str
    seq: int = 0
    ts: datetime | float | None = None


_probe = msgspec.json.Decoder(_Probe)


async def _subscriber_main(
    url: str,
    tokens: Sequence[str | None],
    channel: str | None,
    conn_out: Any,
    stop: Any,
    compression: str | None,
) -> None:
    per_second: dict[int, int] = {}
    latencies: dict[int, list[float]] = {}
    sockets = []
    for token in tokens:
        ws = await LeanSocket.connect(url, compression)
        if token is not None:
            ws.send(json.dumps({"type": "hello", "token": token, "device": "bench"}))
            await ws.recv()  # welcome
            if channel is not None:
                ws.send(json.dumps({"type": "subscribe", "id": "s", "channel": channel}))
                while _probe.decode(await ws.recv()).type != "ack":
                    pass
        sockets.append(ws)
    conn_out.send(("ready", len(sockets)))

    def on_text(message: Data) -> None:
        frame = _probe.decode(message)
        if frame.type != "event" or not frame.seq or frame.ts is None:
            return  # presence and other ephemeral frames carry no commit time
        now = time.time()
        ts = frame.ts
        second = int(now)
        per_second[second] = per_second.get(second, 0) + 1
        bucket = latencies.setdefault(second, [])
        if len(bucket) < 5000:
            bucket.append(now - (ts if isinstance(ts, float) else ts.timestamp()))

    for ws in sockets:
        ws.on_text = on_text
    while not stop.is_set():
        await asyncio.sleep(0.2)
    conn_out.send(("result", per_second, latencies))
    for ws in sockets:
        ws.close()
    await asyncio.wait([ws.closed for ws in sockets], timeout=10)
    for ws in sockets:
        ws.abort()


def _subscriber_process(url: str, tokens: Sequence[str | None], channel: str | None, conn_out: Any,
                        stop: Any, compression: str | None) -> None:  # fmt: skip
    uvloop.run(_subscriber_main(url, tokens, channel, conn_out, stop, compression))


class SubscriberFleet:
    """`len(tokens)` sockets spread over `processes` client processes."""

    def __init__(
        self,
        url: str,
        tokens: Sequence[str | None],
        channel: str | None,
        processes: int,
        compression: str | None = None,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.stop = ctx.Event()
        self.pipes = []
        self.procs = []
        for i in range(processes):
            mine = tokens[i::processes]
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_subscriber_process,
                args=(url, mine, channel, child, self.stop, compression),
                daemon=True,
            )
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    async def ready(self, timeout: float = 300) -> int:
        total = 0
        deadline = time.monotonic() + timeout
        for pipe in self.pipes:
            while not pipe.poll(0.1):
                if time.monotonic() > deadline:
                    raise TimeoutError("client processes not ready")
                await asyncio.sleep(0.1)
            total += pipe.recv()[1]
        return total

    async def results(self) -> tuple[dict[int, int], dict[int, list[float]]]:
        self.stop.set()
        counts: dict[int, int] = {}
        lats: dict[int, list[float]] = {}
        for pipe in self.pipes:
            while not pipe.poll(0.1):
                await asyncio.sleep(0.1)
            _, per_second, latencies = pipe.recv()
            for s, n in per_second.items():
                counts[s] = counts.get(s, 0) + n
            for s, values in latencies.items():
                lats.setdefault(s, []).extend(values)
        for proc in self.procs:
            proc.join(30)
        return counts, lats


def window(counts: dict[int, int], lats: dict[int, list[float]], start: float, end: float
           ) -> tuple[float, list[float]]:  # fmt: skip
    """Deliveries per second and latencies within [start, end) (whole seconds)."""
    seconds = [s for s in range(int(start) + 1, int(end))]
    delivered = sum(counts.get(s, 0) for s in seconds)
    samples = [v for s in seconds for v in lats.get(s, [])]
    return delivered / max(1, len(seconds)), samples


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    ms = [v * 1000 for v in values]
    return (f"p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"mean {statistics.fmean(ms):.1f} ms")  # fmt: skip


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """The CPU seconds (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy so far (not idle, not
    waiting on I/O)."""
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICK


class CpuMeter:
    """Where a run's CPU goes, per operation: the named processes (the server, the
    client processes) and the rest of the machine (PostgreSQL, Redis, the kernel), read
    from /proc at the start and the end of the measured window."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self._groups = groups
        self._start: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        out = {name: sum(_cpu_s(pid) for pid in pids) for name, pids in self._groups.items()}
        out["machine"] = _machine_busy_s()
        return out

    def start(self) -> None:
        self._start = self._read()

    def per_op_us(self, ops: int) -> dict[str, float]:
        """Microseconds of CPU per operation since `start`, by group; `rest` is the
        machine's busy time outside the groups."""
        end = self._read()
        used = {name: end[name] - self._start[name] for name in end}
        used["rest"] = used["machine"] - sum(used[name] for name in self._groups)
        return {name: seconds / max(ops, 1) * 1e6 for name, seconds in used.items()}


def cpu_line(per_op: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {us:.0f}" for name, us in per_op.items() if name != "machine")
    return f"      CPU per write (µs): {parts}; the machine {per_op['machine']:.0f}"


def log(message: str) -> None:
    print(message, flush=True)


__all__ = ["free_port", "os", "sys"]
