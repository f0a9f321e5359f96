"""The WebSocket protocol against one real uvicorn process (PROTOCOL.md §4): opening,
frames, limits, and bad input that must get an error and change nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import server_env
from tests.e2e.helpers import Account, book_for, highlight_params, register
from tests.services import ServerProcess, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def ws_server(database_url: str) -> AsyncIterator[ServerProcess]:
    env = server_env(database_url, WS_HELLO_TIMEOUT_S="1", WS_RATE_BURST="40", WS_RATE_PER_S="20")
    async with running_server(env) as proc:
        yield proc


@pytest.fixture(scope="module")
async def alice(ws_server: ServerProcess) -> Account:
    return await register(ws_server.base_url)


@pytest.fixture
async def client(ws_server: ServerProcess, alice: Account) -> AsyncIterator[WsClient]:
    c = WsClient(ws_server.ws_url, alice.token, "phone-" + uuid.uuid4().hex[:6])
    await c.open()
    yield c
    await c.close()


async def test_welcome_and_ping(client: WsClient, alice: Account) -> None:
    welcome = next(f for f in client.frames if f["type"] == "welcome")
    assert welcome["user_id"] == str(alice.id)
    assert welcome["heartbeat_s"] == 25 and isinstance(welcome["heartbeat_s"], int)
    assert len(welcome["connection_id"]) >= 16
    pong = await client.request({"type": "ping"})
    assert pong["type"] == "pong" and pong["id"].startswith("r")


async def test_bad_token_closes_4401(ws_server: ServerProcess) -> None:
    for token in ("garbage", "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        c = WsClient(ws_server.ws_url, token, "d1")
        await c.open(hello=False)
        await c.send({"type": "hello", "token": token, "device": "d1"})
        assert await c.wait_closed() == 4401


async def test_not_a_hello_first_closes_4401(ws_server: ServerProcess) -> None:
    c = WsClient(ws_server.ws_url, "", "d1")
    await c.open(hello=False)
    await c.send({"type": "ping", "id": "x"})
    assert await c.wait_closed() == 4401


async def test_no_hello_in_time_closes_4408(ws_server: ServerProcess) -> None:
    c = WsClient(ws_server.ws_url, "", "d1")
    await c.open(hello=False)
    assert await c.wait_closed(timeout=5) == 4408


async def test_frame_over_64_kib_closes_1009(client: WsClient) -> None:
    await client.send(json.dumps({"type": "ping", "id": "x" * (70 * 1024)}))
    assert await client.wait_closed() == 1009


@pytest.mark.parametrize(
    ("frame", "code", "in_message"),
    [
        ("not json at all", "bad_request", ""),
        ("[1, 2, 3]", "bad_request", ""),
        ({"type": "teleport", "id": "q1"}, "unknown_type", "teleport"),
        ({"type": "call", "id": "q2", "method": "book.burn", "params": {}},
         "unknown_method", "book.burn"),
        ({"type": "subscribe", "id": "q3"}, "bad_request", "channel"),
        ({"type": "subscribe", "id": "q4", "channel": 7}, "bad_request", "channel"),
        ({"type": "subscribe", "id": "q5", "channel": "book:x", "since": -1},
         "bad_request", "since"),
        ({"type": "call", "id": "q6", "method": "highlight.create",
          "params": {"book_id": "nope"}}, "bad_request", "$.params"),
        ({"type": "call", "id": "q7", "method": "highlight.create",
          "params": {"book_id": str(uuid.uuid4()), "selected_text": "x", "page_number": "one",
                     "start_offset": 0, "end_offset": 1}}, "bad_request", "$.params.page_number"),
        ({"type": "ping", "id": "q8", "extra": True}, "bad_request", "extra"),
    ],
)  # fmt: skip
async def test_bad_frames_get_an_error_and_the_socket_stays_open(
    client: WsClient, frame: Any, code: str, in_message: str
) -> None:
    await client.send(frame if isinstance(frame, str) else json.dumps(frame))
    rid = frame.get("id") if isinstance(frame, dict) else None
    error = await client.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == code
    assert error["id"] == rid
    assert in_message in error["message"]
    assert (await client.request({"type": "ping"}))["type"] == "pong"


async def test_binary_frames_are_refused_politely(client: WsClient) -> None:
    await client.send(b'{"type":"ping","id":"b"}')
    error = await client.wait_for(lambda f: f["type"] == "error")
    assert error["code"] == "bad_request"
    assert (await client.request({"type": "ping"}))["type"] == "pong"


async def test_other_users_channels_and_objects(
    ws_server: ServerProcess, database_url: str, client: WsClient, alice: Account
) -> None:
    bob = await register(ws_server.base_url)
    bobs_book = await book_for(database_url, bob.id)
    for channel in (f"user:{bob.id}", f"book:{bobs_book}", "book:nonsense", "admin"):
        answer = await client.subscribe(channel)
        assert (answer["type"], answer["code"]) == ("error", "forbidden"), channel
    created = await client.call("highlight.create", highlight_params(bobs_book))
    assert (created["type"], created["code"]) == ("error", "not_found")
    bob_client = WsClient(ws_server.ws_url, bob.token, "bob")
    await bob_client.open()
    own_book = await book_for(database_url, bob.id)
    made = await bob_client.call("highlight.create", highlight_params(own_book))
    assert made["type"] == "ack"
    for method in ("highlight.delete", "highlight.update"):
        answer = await client.call(
            method,
            {"id": made["result"]["id"], "note": "mine now"}
            if method == "highlight.update"
            else {"id": made["result"]["id"]},
        )
        assert (answer["type"], answer["code"]) == ("error", "not_found")
    await bob_client.close()


async def test_an_undo_over_call_reaches_the_other_device_and_lists_follow(
    ws_server: ServerProcess, database_url: str, alice: Account, client: WsClient
) -> None:
    book = await book_for(database_url, alice.id)
    tablet = WsClient(ws_server.ws_url, alice.token, "tablet")
    await tablet.open()
    params = highlight_params(book, color="green", tags=["undo"])
    made = await client.request({"type": "call", "method": "highlight.create", "params": params})
    hid = made["result"]["id"]
    assert made["result"]["device_type"] == client.device
    gone = await client.request(
        {"type": "call", "method": "highlight.delete", "params": {"id": hid}}
    )
    assert gone["type"] == "ack"
    back = await client.request(
        {"type": "call", "method": "highlight.restore", "params": {"id": hid}}
    )
    assert back["type"] == "ack" and back["result"]["tags"] == ["undo"]
    heard = await tablet.wait_for(
        lambda f: f.get("event") == "highlight.created" and f["data"]["id"] == hid
        and f["seq"] > 2
    )  # fmt: skip
    assert heard["data"]["color"] == "green"
    rated = await client.call("book.rate", {"book_id": str(book), "rating": 5})
    assert rated["type"] == "ack" and rated["result"]["community_rating"] == 5.0
    too_high = await client.call("book.rate", {"book_id": str(book), "rating": 9})
    assert too_high["type"] == "error" and too_high["code"] == "bad_request"
    read = await client.call("notifications.read", {})
    assert read["type"] == "ack" and read["result"] == {"unread": 0}
    headers = {"Authorization": f"Bearer {alice.token}"}
    async with httpx.AsyncClient(base_url=ws_server.base_url + "/api/v1", headers=headers) as http:
        listed = await http.get("/highlights", params={"tag": "undo", "color": "green"})
        assert [h["id"] for h in listed.json()["items"]] == [hid]
        assert listed.headers["x-event-seq"].startswith(f"user:{alice.id}=")
        assert (await http.delete(f"/highlights/{hid}")).status_code == 204
        assert (await http.get("/highlights", params={"tag": "undo"})).json()["items"] == []
        again = await http.post(f"/highlights/{hid}/restore")
        assert again.status_code == 200 and again.json()["id"] == hid
        assert (await http.post(f"/highlights/{uuid.uuid4()}/restore")).status_code == 404
        for path, bad in (("/highlights", {"color": "teal"}), ("/annotations", {"type": "x"}),
                          ("/bookmarks", {"category": "nope"}), ("/highlights", {"q": ""}),
                          ("/highlights", {"public": "maybe"})):  # fmt: skip
            assert (await http.get(path, params=bad)).status_code == 422, (path, bad)
    await tablet.close()


async def test_the_counters_of_a_burst_of_public_highlights_come_a_few_times(
    ws_server: ServerProcess, database_url: str
) -> None:
    """`book.stats` is coalesced (server/book_stats.py): a lone create's counters come at
    once; during a burst at most one per half second, the last with the final counts."""
    author, reader = await register(ws_server.base_url), await register(ws_server.base_url)
    book = await book_for(database_url, author.id, public=True)
    writer = WsClient(ws_server.ws_url, author.token, "writer")
    listener = WsClient(ws_server.ws_url, reader.token, "reader")
    await writer.open()
    await listener.open()
    channel = f"book:{book}"
    assert (await listener.subscribe(channel))["type"] == "ack"

    def counted(n: int) -> Any:
        return lambda f: (f.get("event") == "book.stats"
                          and f["data"]["community_highlights_count"] == n)  # fmt: skip

    assert (await writer.call("highlight.create", highlight_params(book, public=True)))[
        "type"
    ] == "ack"
    await listener.wait_for(counted(1), timeout=3)
    started = time.monotonic()
    for _ in range(30):
        made = await writer.call("highlight.create", highlight_params(book, public=True))
        assert made["type"] == "ack"
    elapsed = time.monotonic() - started
    await listener.wait_for(counted(31))
    await asyncio.sleep(1.0)  # nothing after the final counts
    seen = listener.events(channel)
    assert [e["seq"] for e in seen] == list(range(1, len(seen) + 1))
    stats = [e["data"] for e in seen if e["event"] == "book.stats"]
    assert sum(e["event"] == "highlight.created" for e in seen) == 31
    assert stats[-1] == {"book_id": str(book), "community_highlights_count": 31,
                         "total_highlights": 31}  # fmt: skip
    counts = [s["community_highlights_count"] for s in stats]
    assert counts == sorted(counts) and len(counts) == len(set(counts))
    assert len(stats) - 1 <= elapsed / 0.5 + 2 and len(stats) < 31, (len(stats), elapsed)
    await writer.close()
    await listener.close()


async def test_flood_is_rate_limited_then_closed_1008(
    ws_server: ServerProcess, alice: Account
) -> None:
    c = WsClient(ws_server.ws_url, alice.token, "flood")
    await c.open()
    for _ in range(200):
        await c.send({"type": "ping", "id": "f"})
    await c.wait_for(lambda f: f["type"] == "error" and f["code"] == "rate_limited")
    pongs = sum(1 for f in c.frames if f["type"] == "pong")
    assert 30 <= pongs <= 60  # the burst (40) and a little refill, not all 200
    deadline = asyncio.get_running_loop().time() + 8
    while c.close_code is None and asyncio.get_running_loop().time() < deadline:
        # several frames per turn: even a client slowed down by a loaded machine keeps
        # sending faster than the bucket refills (20/s here)
        for _ in range(5):
            await c.send({"type": "ping", "id": "f"})
        await asyncio.sleep(0.01)
    assert await c.wait_closed() == 1008


async def _state(database_url: str) -> tuple[Any, ...]:
    """What a frame could have changed. Events count only when a device wrote them (an
    origin): the schedule's own (a highlight scored, a reminder) may come at any time."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM highlights), (SELECT count(*) FROM bookmarks),
                      (SELECT count(*) FROM annotations), (SELECT count(*) FROM reading_progress),
                      (SELECT count(*) FROM channel_events WHERE origin IS NOT NULL),
                      (SELECT coalesce(max(seq), 0) FROM channel_events
                       WHERE origin IS NOT NULL)"""
        )
        assert row is not None
        return tuple(row)
    finally:
        await conn.close()


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
_methods = st.sampled_from(
    ["highlight.create", "highlight.update", "highlight.delete", "highlight.restore",
     "bookmark.create",
     "annotation.create", "progress.update", "session.end", "presence.set", "x.y"]
)  # fmt: skip
_frames = st.one_of(
    st.text(max_size=200),
    _json.map(json.dumps),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["call", "subscribe", "ping", "hello", "nope", 5]),
         "id": st.one_of(st.none(), st.text(max_size=8), st.integers())},
        optional={"method": _methods, "params": _json, "channel": _json, "since": _json},
    ).map(json.dumps),
)  # fmt: skip


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=_frames)
async def test_generated_frames_never_break_the_socket_or_change_data(
    ws_server: ServerProcess, database_url: str, alice: Account, frame: str
) -> None:
    c = WsClient(ws_server.ws_url, alice.token, "fuzz")
    await c.open()
    try:
        before = await _state(database_url)
        await c.send(frame)
        pong = await c.request({"type": "ping"})
        assert pong["type"] == "pong"
        answers = [f for f in c.frames if f["type"] in {"error", "ack"}]
        if all(a["type"] == "error" for a in answers):
            assert await _state(database_url) == before
        assert all(a.get("code") != "internal" for a in answers)
        assert c.close_code is None
    finally:
        await c.close()
    assert c.close_code != 1011
