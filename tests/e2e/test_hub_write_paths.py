"""The two ways a frame reaches a socket (server/hub/direct.py): written at once when
the socket's buffer has room, or queued and sent through ASGI when it has none or when
each socket compresses its own frames. Real uvicorn processes; the metrics tell which
path each event frame took."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import BIG_NOTE, book_for, highlight_params, register, stalled_reader
from tests.services import running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


async def _metric(base_url: str, name: str) -> float:
    async with httpx.AsyncClient(base_url=base_url) as http:
        text = (await http.get("/metrics")).text
    (line,) = [x for x in text.splitlines() if x.startswith(name + " ")]
    return float(line.split()[1])


async def test_readers_keeping_up_get_every_frame_written_at_once(database_url: str) -> None:
    async with running_server(server_env(database_url)) as proc:
        alice = await register(proc.base_url)
        book = await book_for(database_url, alice.id)
        user = f"user:{alice.id}"
        devices = [WsClient(proc.ws_url, alice.token, f"d{i}") for i in range(3)]
        for d in devices:
            await d.open()
        for _ in range(20):
            assert (await devices[0].call("highlight.create", highlight_params(book)))[
                "type"
            ] == "ack"
        for d in devices:
            assert [e["seq"] for e in await d.wait_events(user, 20)] == list(range(1, 21))
        assert await _metric(proc.base_url, "bookmind_events_delivered_total") == 60
        assert await _metric(proc.base_url, "bookmind_events_queued_total") == 0
        for d in devices:
            await d.close()


async def test_a_reader_that_pauses_gets_every_frame_in_order_once_it_reads_again(
    database_url: str,
) -> None:
    env = server_env(database_url, WS_QUEUE_SIZE="5000", WS_RATE_BURST="5000", WS_RATE_PER_S="5000")
    async with running_server(env) as proc:
        alice = await register(proc.base_url)
        book = await book_for(database_url, alice.id)
        paused = await stalled_reader(proc.ws_url, alice, "paused")
        writer = WsClient(proc.ws_url, alice.token, "writer")
        await writer.open()

        async def create(ids: range) -> None:
            for i in ids:
                await writer.send({"type": "call", "id": f"c{i}", "method": "highlight.create",
                                   "params": highlight_params(book, note=BIG_NOTE)})  # fmt: skip
            await writer.wait_for(lambda f: f.get("id") == f"c{ids[-1]}", timeout=60)

        await create(range(600))
        assert await _metric(proc.base_url, "bookmind_events_queued_total") > 0

        async def read_all() -> list[int]:
            seqs: list[int] = []
            while len(seqs) < 1000:
                frame = json.loads(await paused.recv())
                if frame["type"] == "event":
                    seqs.append(frame["seq"])
            return seqs

        # it reads again while new frames keep coming: they must queue behind the old
        reading = asyncio.create_task(read_all())
        await create(range(600, 1000))
        async with asyncio.timeout(30):
            seqs = await reading
        assert seqs == list(range(1, 1001))
        # the writer's own copy of the last event may still be in flight behind its ack
        mine = await writer.wait_events(f"user:{alice.id}", 1000)
        assert [e["seq"] for e in mine] == list(range(1, 1001))
        await paused.close()
        await writer.close()


async def test_sockets_with_compression_keep_the_asgi_path(database_url: str) -> None:
    env = server_env(database_url, WS_PER_MESSAGE_DEFLATE="true")
    async with running_server(env) as proc:
        alice = await register(proc.base_url)
        book = await book_for(database_url, alice.id)
        user = f"user:{alice.id}"
        squeezed = WsClient(proc.ws_url, alice.token, "deflate")
        await squeezed.open(compression="deflate")
        assert squeezed.ws is not None and squeezed.ws.protocol.extensions  # negotiated
        plain = WsClient(proc.ws_url, alice.token, "plain")
        await plain.open()
        note = "the same words again and again " * 50
        for _ in range(10):
            ack = await plain.call("highlight.create", highlight_params(book, note=note))
            assert ack["type"] == "ack"
        for client in (squeezed, plain):
            events = await client.wait_events(user, 10)
            assert [e["seq"] for e in events] == list(range(1, 11))
            assert all(e["data"]["note"] == note for e in events)
        # the compressed socket's ten frames went through its queue, the plain one's not
        assert await _metric(proc.base_url, "bookmind_events_queued_total") == 10
        for client in (squeezed, plain):
            await client.close()
