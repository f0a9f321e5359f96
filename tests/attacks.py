"""Requests a hostile signed-up account can send, each of which once stalled a web
process for everyone (issue 13 §1), and a `/healthz` probe in a process of its own that
measures what the other readers feel meanwhile.

Used by `tests/e2e/test_loop_stalls.py` (asserts) and `tests/bench/bench_stalls.py`
(prints the figures, for any checkout)."""

from __future__ import annotations

import asyncio
import json
import struct
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import connect

_PROBE = """
import json, select, sys, time
import httpx
url, lat, at = sys.argv[1], [], []
with httpx.Client(timeout=60) as client:
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0)[0]:
        at.append(time.time())
        t = time.perf_counter()
        client.get(url)
        lat.append(time.perf_counter() - t)
        time.sleep(0.01)
print(json.dumps([lat, at]), flush=True)
"""


@dataclass
class Probe:
    latencies_ms: list[float]
    sent_at: list[float]  # each probe's wall-clock start (time.time())

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        p50, p99, worst = self.quantile(0.5), self.quantile(0.99), max(self.latencies_ms)
        return f"{len(self.latencies_ms)} probes: p50 {p50:.1f}, p99 {p99:.1f}, max {worst:.1f} ms"


@asynccontextmanager
async def probing(base_url: str) -> Any:
    """Poll `/healthz` from another process while the body runs; yields a list that holds
    the Probe once the body is done."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _PROBE, base_url + "/healthz",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    assert (await proc.stdout.readline()).strip() == b"ready"
    result: list[Probe] = []
    try:
        await asyncio.sleep(0.2)  # a few probes before the attack
        yield result
        await asyncio.sleep(0.2)
    finally:
        proc.stdin.close()
        out = await proc.stdout.read()
        await proc.wait()
    latencies, sent_at = json.loads(out)
    result.append(Probe([x * 1000 for x in latencies], sent_at))


def million_entry_zip(entries: int = 2_000_000) -> bytes:
    """A file that starts like a zip and whose central directory lists `entries` one-byte
    files (~47 bytes each): what a type sniffer that lists the directory chokes on."""
    name = b"a"
    local = struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 1, 1, 1, 0) + name + b"x"
    central = (
        struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0)
        + name
    )
    directory = central * entries
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, len(directory),
                      len(local), 0)  # fmt: skip
    return local + directory + end


@dataclass
class Target:
    base_url: str
    token: str
    book_id: str  # a book the attacker may read

    @property
    def api(self) -> str:
        return self.base_url + "/api/v1"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


Attack = Callable[[Target], Awaitable[list[int]]]


async def tag_soup_annotations(t: Target) -> list[int]:
    """Three annotations of 50,000 '<' on a book id that does not exist, at once."""
    body = {"annotation_type": "text", "content": "<" * 50_000, "page_number": 1}
    async with httpx.AsyncClient(timeout=120, headers=t.headers) as client:
        replies = await asyncio.gather(*(
            client.post(f"{t.api}/books/{uuid.uuid4()}/annotations", json=body) for _ in range(3)
        ))  # fmt: skip
    return [r.status_code for r in replies]


async def tag_soup_over_socket(t: Target) -> list[int]:
    """annotation.create with 50 KB of '<' over /ws, three times (a reply per frame)."""
    ws_url = t.base_url.replace("http", "ws", 1) + "/ws"
    codes = []
    async with connect(ws_url, compression=None, max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": t.token, "device": "attacker"}))
        json.loads(await ws.recv())
        for i in range(3):
            params = {"book_id": t.book_id, "annotation_type": "text",
                      "content": "<" * 50_000, "page_number": 1}  # fmt: skip
            call = {"type": "call", "id": f"a{i}", "method": "annotation.create"}
            await ws.send(json.dumps({**call, "params": params}))
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("id") == f"a{i}":
                    codes.append(200 if frame["type"] == "ack" else 400)
                    break
    return codes


async def zip_directory_upload(t: Target) -> list[int]:
    """A 94 MB 'zip' whose directory lists two million entries."""
    data = million_entry_zip()
    async with httpx.AsyncClient(timeout=300, headers=t.headers) as client:
        reply = await client.post(
            f"{t.api}/books", files={"file": ("big.epub", data, "application/epub+zip")}
        )
    return [reply.status_code]


async def huge_position_data(t: Target) -> list[int]:
    """A public highlight whose position_data is 90 KB, and one of 1 MB."""
    codes = []
    async with httpx.AsyncClient(timeout=120, headers=t.headers) as client:
        for size in (90_000, 1_000_000):
            body = {"selected_text": "x", "page_number": 1, "start_offset": 0, "end_offset": 1,
                    "public": True, "position_data": {"blob": "p" * size}}  # fmt: skip
            reply = await client.post(f"{t.api}/books/{t.book_id}/highlights", json=body)
            codes.append(reply.status_code)
    return codes


async def large_login_body(t: Target) -> list[int]:
    """A 5 MB login request."""
    async with httpx.AsyncClient(timeout=120) as client:
        reply = await client.post(
            f"{t.api}/auth/login", json={"login": "x" * 5_000_000, "password": "y"}
        )
    return [reply.status_code]


ATTACKS: dict[str, Attack] = {
    "tag soup annotations (REST)": tag_soup_annotations,
    "tag soup annotation.create (/ws)": tag_soup_over_socket,
    "zip with 2M directory entries": zip_directory_upload,
    "position_data 90 KB / 1 MB": huge_position_data,
    "5 MB login body": large_login_body,
}
