"""Durable channels across real web processes joined by Redis (PROTOCOL.md §4.3,
ARCHITECTURE.md §2-3): delivery once and in order, visibility, resume, a killed process,
and a Redis outage."""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import book_for, highlight_params, register
from tests.services import RedisService, ServerProcess, free_port
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


def _cluster_env(database_url: str, redis_url: str) -> dict[str, str]:
    # these tests burst 1,000 writes from one socket: lift the per-connection rate limit
    return server_env(database_url, redis_url, WS_RATE_BURST="5000", WS_RATE_PER_S="2000")


async def _start(envs: list[dict[str, str]]) -> list[ServerProcess]:
    servers = [ServerProcess(env) for env in envs]
    for s in servers:
        s.start()
    for s in servers:
        await s.wait_ready()
    return servers


@pytest.fixture(scope="module")
async def cluster(
    database_url: str, redis_service: RedisService
) -> AsyncIterator[list[ServerProcess]]:
    env = _cluster_env(database_url, redis_service.url)
    servers = await _start([env, env])
    yield servers
    for s in servers:
        s.stop()


def _assert_gapless(events: list[dict[str, Any]]) -> None:
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), seqs[:20]


async def test_two_devices_on_two_processes_and_a_reader_of_the_book(
    cluster: list[ServerProcess], database_url: str
) -> None:
    alice = await register(cluster[0].base_url)
    carol = await register(cluster[0].base_url)
    book = await book_for(database_url, alice.id, public=True)
    phone = WsClient(cluster[0].ws_url, alice.token, "phone")
    tablet = WsClient(cluster[1].ws_url, alice.token, "tablet")
    reader = WsClient(cluster[1].ws_url, carol.token, "carol-web")
    for c in (phone, tablet, reader):
        await c.open()
    assert (await reader.subscribe(f"book:{book}"))["type"] == "ack"
    user = f"user:{alice.id}"
    book_ch = f"book:{book}"

    private = await phone.call("highlight.create", highlight_params(book))
    public = await phone.call("highlight.create", highlight_params(book, public=True))
    assert private["type"] == public["type"] == "ack"
    hid = public["result"]["id"]
    hidden = await phone.call("highlight.update", {"id": hid, "public": False})
    assert hidden["result"]["public"] is False

    got = await tablet.wait_events(user, 3)
    assert [(e["event"], e["data"]["id"]) for e in got] == [
        ("highlight.created", private["result"]["id"]),
        ("highlight.created", hid),
        ("highlight.updated", hid),
    ]
    assert all(e["origin"] == "phone" for e in got)
    _assert_gapless(got)
    # the book's counters come apart, coalesced: the last one after the highlight left
    await reader.wait_for(lambda f: f.get("event") == "book.stats"
                          and f["data"]["community_highlights_count"] == 0)  # fmt: skip
    await asyncio.sleep(1.0)  # an announcement marked while one ran comes an interval later
    seen = reader.events(book_ch)
    _assert_gapless(seen)
    shown = [e for e in seen if e["event"] != "book.stats"]
    assert [e["event"] for e in shown] == ["highlight.created", "highlight.deleted"]
    assert shown[0]["data"]["id"] == hid and shown[1]["data"] == {"id": hid}
    assert seen[-1]["event"] == "book.stats" and len(seen) in (3, 4)  # one or two announced
    assert seen[-1]["data"]["community_highlights_count"] == 0
    assert private["result"]["id"] not in str(reader.frames)
    await asyncio.sleep(0.5)  # nothing more arrives: each event exactly once
    assert len(tablet.events(user)) == 3 and len(reader.events(book_ch)) == len(seen)
    assert len(phone.events(user)) == 3  # the writer hears its own (origin tells it apart)
    for c in (phone, tablet, reader):
        await c.close()


async def test_resume_after_disconnect_mid_burst_of_1000(
    cluster: list[ServerProcess], database_url: str
) -> None:
    alice = await register(cluster[0].base_url)
    book = await book_for(database_url, alice.id)
    user = f"user:{alice.id}"
    writer = WsClient(cluster[0].ws_url, alice.token, "writer")
    watcher = WsClient(cluster[1].ws_url, alice.token, "watcher")
    await writer.open()
    await watcher.open()

    async def burst() -> None:
        for i in range(1000):
            await writer.send({"type": "call", "id": f"w{i}", "method": "progress.update",
                               "params": {"book_id": str(book), "current_page": i + 1,
                                          "progress_percentage": i / 1000}})  # fmt: skip
        await writer.wait_for(lambda f: f.get("id") == "w999", timeout=60)

    writing = asyncio.create_task(burst())
    await watcher.wait_events(user, 250, timeout=30)
    await watcher.close()
    first = watcher.events(user)
    last_seq = first[-1]["seq"]
    assert last_seq < 1000, "the burst ended before the disconnect: nothing to resume"
    again = WsClient(cluster[0].ws_url, alice.token, "watcher")
    await again.open(resume={user: last_seq})
    await writing
    rest = await again.wait_events(user, 1000 - last_seq, timeout=60)
    everything = first + rest
    seqs = [e["seq"] for e in everything]
    odd = [(i, a, b) for i, (a, b) in enumerate(itertools.pairwise(seqs)) if b != a + 1]
    assert seqs == list(range(1, 1001)), f"resumed at {last_seq}; breaks: {odd[:10]}"
    assert [e["data"]["current_page"] for e in everything] == list(range(1, 1001))
    errors = [f for f in writer.frames if f["type"] == "error"]
    assert errors == []
    await writer.close()
    await again.close()


async def test_a_write_right_after_welcome_is_heard(
    cluster: list[ServerProcess], database_url: str
) -> None:
    """A device that has its welcome is subscribed to its user channel: a write made at
    that moment through another process reaches it."""
    alice = await register(cluster[0].base_url)
    book = await book_for(database_url, alice.id)
    headers = {"Authorization": f"Bearer {alice.token}"}
    body = {k: v for k, v in highlight_params(book).items() if k != "book_id"}
    async with httpx.AsyncClient(base_url=cluster[0].base_url + "/api/v1", headers=headers) as http:
        for _ in range(10):
            device = WsClient(cluster[1].ws_url, alice.token, "fresh")
            await device.open()  # returns on welcome
            made = await http.post(f"/books/{book}/highlights", json=body)
            assert made.status_code == 201
            hid = made.json()["id"]
            got = await device.wait_for(
                lambda f, hid=hid: f["type"] == "event" and f["data"]["id"] == hid, timeout=5
            )
            assert got["event"] == "highlight.created"
            await device.close()


async def test_rest_state_then_subscribe_since_misses_nothing(
    cluster: list[ServerProcess], database_url: str
) -> None:
    alice = await register(cluster[0].base_url)
    book = await book_for(database_url, alice.id)
    headers = {"Authorization": f"Bearer {alice.token}", "X-Device": "web"}
    async with httpx.AsyncClient(base_url=cluster[0].base_url + "/api/v1", headers=headers) as http:
        for i in range(3):
            with_book = highlight_params(book, note=str(i))
            made = await http.post(f"/books/{book}/highlights", json=with_book)
            assert made.status_code == 422  # book_id is a path id, not a body field
            made = await http.post(
                f"/books/{book}/highlights",
                json={
                    k: v for k, v in highlight_params(book, note=str(i)).items() if k != "book_id"
                },
            )
            assert made.status_code == 201, made.text
        listing = await http.get(f"/books/{book}/highlights")
        assert listing.status_code == 200
        assert len(listing.json()["items"]) == 3
        channel, _, seq = listing.headers["X-Event-Seq"].partition("=")
        assert channel == f"user:{alice.id}" and int(seq) == 3
        client = WsClient(cluster[1].ws_url, alice.token, "tablet")
        await client.open(resume={channel: int(seq)})
        later = await http.post(
            f"/books/{book}/highlights",
            json={k: v for k, v in highlight_params(book).items() if k != "book_id"},
        )
        assert later.status_code == 201
        events = await client.wait_events(channel, 1)
        await asyncio.sleep(0.3)
        assert [e["seq"] for e in client.events(channel)] == [4]
        assert events[0]["origin"] == "web"
        await client.close()


async def test_sigkill_of_a_web_process_loses_nothing(
    database_url: str, redis_service: RedisService
) -> None:
    env = _cluster_env(database_url, redis_service.url)
    victim, survivor = await _start([env, env])
    try:
        alice = await register(survivor.base_url)
        book = await book_for(database_url, alice.id)
        user = f"user:{alice.id}"
        writer = WsClient(victim.ws_url, alice.token, "writer")
        watcher = WsClient(victim.ws_url, alice.token, "watcher")
        await writer.open()
        await watcher.open()
        for i in range(300):
            await writer.send({"type": "call", "id": f"k{i}", "method": "highlight.create",
                               "params": highlight_params(book, note=str(i))})  # fmt: skip
        await writer.wait_for(lambda f: f.get("id") == "k40", timeout=30)
        assert victim.proc is not None
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        await writer.wait_closed()
        acked = {f["result"]["id"] for f in writer.frames if f["type"] == "ack"}
        assert len(acked) >= 40
        conn = await asyncpg.connect(database_url)
        try:
            stored = {r["id"] for r in await conn.fetch(
                "SELECT id::text FROM highlights WHERE user_id = $1", alice.id)}  # fmt: skip
            head = await conn.fetchval("SELECT seq FROM channel_heads WHERE channel = $1", user)
        finally:
            await conn.close()
        assert acked <= stored  # every acknowledged write is committed
        last = max((e["seq"] for e in watcher.events(user)), default=0)
        back = WsClient(survivor.ws_url, alice.token, "watcher")
        await back.open(resume={user: last})
        rest = await back.wait_events(user, head - last, timeout=30)
        assert [e["seq"] for e in watcher.events(user) + rest] == list(range(1, head + 1))
        await back.close()
    finally:
        victim.stop()
        survivor.stop()


@pytest.fixture
def private_redis() -> Iterator[tuple[str, int]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("this test stops and restarts Redis: it needs redis-server installed")
    yield binary, free_port()


def _redis(binary: str, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )


async def test_redis_outage_while_writes_go_on(
    database_url: str, private_redis: tuple[str, int]
) -> None:
    binary, port = private_redis
    redis_proc = _redis(binary, port)
    await asyncio.sleep(0.5)
    env = _cluster_env(database_url, f"redis://127.0.0.1:{port}")
    servers = await _start([env, env])
    try:
        alice = await register(servers[0].base_url)
        book = await book_for(database_url, alice.id)
        user = f"user:{alice.id}"
        clients = [WsClient(s.ws_url, alice.token, f"d{i}") for i, s in enumerate(servers)]
        for c in clients:
            await c.open()
        headers = {"Authorization": f"Bearer {alice.token}"}
        body = {k: v for k, v in highlight_params(book).items() if k != "book_id"}
        statuses: list[int] = []
        async with httpx.AsyncClient(
            base_url=servers[0].base_url + "/api/v1", headers=headers
        ) as http:
            for i in range(60):
                if i == 15:
                    redis_proc.terminate()
                    redis_proc.wait(10)
                if i == 40:
                    redis_proc = _redis(binary, port)
                statuses.append(
                    (await http.post(f"/books/{book}/highlights", json=body)).status_code
                )
                await asyncio.sleep(0.05)
        assert statuses == [201] * 60  # writes never depended on Redis
        for c in clients:
            got = await c.wait_events(user, 60, timeout=30)
            assert [e["seq"] for e in got] == list(range(1, 61))
        for c in clients:
            await c.close()
    finally:
        for s in servers:
            s.stop()
        redis_proc.terminate()
        redis_proc.wait(10)
