"""Issue 13 §4: one account cannot crowd a web process with sockets, subscriptions, or
the many spellings of one channel."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import book_for, register
from tests.services import ServerProcess, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def tight(database_url: str) -> AsyncIterator[ServerProcess]:
    env = server_env(database_url, WS_MAX_SOCKETS_PER_USER="3", WS_MAX_SUBSCRIPTIONS="3")
    async with running_server(env) as proc:
        yield proc


async def test_past_the_socket_limit_the_oldest_is_closed(tight: ServerProcess) -> None:
    me = await register(tight.base_url)
    sockets = [WsClient(tight.ws_url, me.token, f"device-{i}") for i in range(4)]
    for ws in sockets:
        await ws.open()
    assert await sockets[0].wait_closed(5) == 4409
    for ws in sockets[1:]:
        assert (await ws.request({"type": "ping"}))["type"] == "pong"
        await ws.close()


async def test_subscriptions_are_bounded_and_channel_names_canonical(
    tight: ServerProcess, database_url: str
) -> None:
    me = await register(tight.base_url)
    books = [await book_for(database_url, me.id) for _ in range(3)]
    ws = WsClient(tight.ws_url, me.token, "phone")
    await ws.open()
    upper = await ws.subscribe(f"book:{str(books[0]).upper()}")
    assert upper["type"] == "error" and upper["code"] == "forbidden"
    braces = await ws.subscribe(f"user:{{{me.id}}}")
    assert braces["type"] == "error" and braces["code"] == "forbidden"
    assert (await ws.subscribe(f"book:{books[0]}"))["type"] == "ack"
    assert (await ws.subscribe(f"book:{books[0]}"))["type"] == "ack"  # again: no new slot
    assert (await ws.subscribe(f"book:{books[1]}"))["type"] == "ack"  # 3 with its own
    over = await ws.subscribe(f"book:{books[2]}")
    assert over["type"] == "error" and over["code"] == "quota_exceeded"
    await ws.request({"type": "unsubscribe", "channel": f"book:{books[1]}"})
    assert (await ws.subscribe(f"book:{books[2]}"))["type"] == "ack"
    unknown = await ws.subscribe(f"shelf:{uuid.uuid4()}")
    assert unknown["type"] == "error"
    await ws.close()


async def test_uploads_per_hour_are_bounded(database_url: str) -> None:
    from tests.services import CORPUS

    data = (CORPUS / "alice-in-wonderland_epub3.epub").read_bytes()
    async with running_server(server_env(database_url, UPLOADS_PER_HOUR="2")) as proc:
        me = await register(proc.base_url)
        headers = {"Authorization": f"Bearer {me.token}"}
        async with httpx.AsyncClient(base_url=proc.base_url + "/api/v1", headers=headers,
                                     timeout=60) as http:  # fmt: skip
            replies = await asyncio.gather(*(
                http.post("/books", files={"file": (f"a{i}.epub", data)}) for i in range(4)
            ))  # fmt: skip
            codes = sorted(r.status_code for r in replies)
            assert codes == [202, 202, 429, 429]
            refused = next(r for r in replies if r.status_code == 429)
            assert 1 <= int(refused.headers["retry-after"]) <= 3600
            listed = (await http.get("/books")).json()["items"]
            assert len([b for b in listed if b["user_id"] == str(me.id)]) == 2


async def test_the_embedded_fan_out_is_not_restarted(
    tight: ServerProcess, database_url: str
) -> None:
    """Under make run's in-memory channels the watchdog once restarted the listener every
    6 s, forever (reconciling every channel each time). Three probe rounds and more."""
    import asyncpg

    admin = await register(tight.base_url)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET is_admin = true WHERE id = $1", admin.id)
    finally:
        await conn.close()
    await asyncio.sleep(8)
    headers = {"Authorization": f"Bearer {admin.token}"}
    async with httpx.AsyncClient(base_url=tight.base_url + "/api/v1", headers=headers) as http:
        health = (await http.get("/admin/health")).json()
    assert health["redis"]["status"].startswith("not used")  # the embedded transport
    assert health["realtime"]["fanout_restarts"] == 0
