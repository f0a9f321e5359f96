"""The hub's limits and lifecycle against real uvicorn processes: the slow-consumer
close, resync past retention, the restart close on shutdown, and presence."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from websockets.exceptions import ConnectionClosed

from tests.conftest import server_env
from tests.e2e.helpers import BIG_NOTE, book_for, highlight_params, register, stalled_reader
from tests.services import ServerProcess, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def small_queues(database_url: str) -> AsyncIterator[ServerProcess]:
    env = server_env(database_url, WS_QUEUE_SIZE="20", WS_RATE_BURST="5000", WS_RATE_PER_S="5000")
    async with running_server(env) as proc:
        yield proc


async def test_a_reader_that_stops_reading_is_closed_1013_not_buffered(
    small_queues: ServerProcess, database_url: str
) -> None:
    alice = await register(small_queues.base_url)
    book = await book_for(database_url, alice.id)
    laggard = await stalled_reader(small_queues.ws_url, alice, "laggard")
    writer = WsClient(small_queues.ws_url, alice.token, "writer")
    await writer.open()
    for i in range(600):
        await writer.send({"type": "call", "id": f"b{i}", "method": "highlight.create",
                           "params": highlight_params(book, note=BIG_NOTE)})  # fmt: skip
    await writer.wait_for(lambda f: f.get("id") == "b599", timeout=60)
    received = 0
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(30):
            while True:
                await laggard.recv()
                received += 1
    assert laggard.close_code == 1013
    assert received < 600  # it was cut off, not handed everything
    # the writer, who kept reading, got every event and stays open
    assert len(writer.events(f"user:{alice.id}")) == 600
    assert (await writer.request({"type": "ping"}))["type"] == "pong"
    await writer.close()


async def test_resume_older_than_what_is_kept_gets_resync(
    small_queues: ServerProcess, database_url: str
) -> None:
    alice = await register(small_queues.base_url)
    book = await book_for(database_url, alice.id)
    user = f"user:{alice.id}"
    writer = WsClient(small_queues.ws_url, alice.token, "writer")
    await writer.open()
    for _ in range(5):
        assert (await writer.call("highlight.create", highlight_params(book)))["type"] == "ack"
    conn = await asyncpg.connect(database_url)
    try:  # as the retention purge would
        await conn.execute("DELETE FROM channel_events WHERE channel = $1 AND seq <= 3", user)
    finally:
        await conn.close()
    late = WsClient(small_queues.ws_url, alice.token, "late")
    await late.open(resume={user: 1})
    resync = await late.wait_for(lambda f: f["type"] == "resync")
    assert resync == {"type": "resync", "channel": user, "seq": 5}
    fresh = WsClient(small_queues.ws_url, alice.token, "fresh")
    await fresh.open(resume={user: 3})  # 4 and 5 are still kept: a normal resume
    assert [e["seq"] for e in await fresh.wait_events(user, 2)] == [4, 5]
    assert (await writer.call("highlight.create", highlight_params(book)))["type"] == "ack"
    assert [e["seq"] for e in await late.wait_events(user, 1)] == [6]
    for c in (writer, late, fresh):
        await c.close()


async def test_presence_on_a_book_channel(small_queues: ServerProcess, database_url: str) -> None:
    owner = await register(small_queues.base_url)
    reader = await register(small_queues.base_url)
    book = await book_for(database_url, owner.id, public=True)
    channel = f"book:{book}"
    a = WsClient(small_queues.ws_url, owner.token, "owner-phone")
    b = WsClient(small_queues.ws_url, reader.token, "reader-web")
    await a.open()
    await b.open()
    await a.subscribe(channel)
    await b.subscribe(channel)

    def presence(kind: str, who: str) -> object:
        return lambda f: (f["type"] == "event" and f["event"] == f"presence.{kind}"
                          and f["data"]["user"]["username"] == who)  # fmt: skip

    joined = await a.wait_for(presence("join", reader.username))
    assert joined["channel"] == channel and "seq" not in joined
    assert joined["data"]["device"] == "reader-web" and "email" not in joined["data"]["user"]
    idle = await b.call("presence.set", {"book_id": str(book), "status": "idle"})
    assert idle["type"] == "ack"
    await a.wait_for(presence("leave", reader.username))
    a.frames.clear()
    await b.close()
    await a.wait_for(presence("leave", reader.username))
    await a.close()


async def test_shutdown_closes_sockets_with_1012(database_url: str) -> None:
    async with running_server(server_env(database_url)) as proc:
        alice = await register(proc.base_url)
        client = WsClient(proc.ws_url, alice.token, "d")
        await client.open()
        proc.stop()
        assert await client.wait_closed() == 1012
