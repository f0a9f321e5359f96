"""Follows and the live feed end to end: real uvicorn processes, WebSocket clients, Redis
between processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import Account, book_for, post_highlight, register
from tests.services import RedisService, ServerProcess, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


def _http(server: ServerProcess, account: Account) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=server.base_url + "/api/v1",
        headers={"Authorization": f"Bearer {account.token}"},
        timeout=30,
    )


async def _counts(database_url: str, account: Account) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT followers_count, following_count FROM users WHERE id = $1", account.id
        )
        assert row is not None
        return row["followers_count"], row["following_count"]
    finally:
        await conn.close()


async def test_follow_rules_events_and_lists(server: ServerProcess, database_url: str) -> None:
    alice, bob = await register(server.base_url), await register(server.base_url)
    ws = WsClient(server.ws_url, bob.token, "bob-phone")
    await ws.open()
    async with _http(server, alice) as http:
        first = await http.post(f"/users/{bob.username}/follow")
        assert first.status_code == 201 and first.json()["username"] == bob.username
        assert first.json()["followers_count"] == 1
        assert (await http.post(f"/users/{bob.username}/follow")).status_code == 200
        assert (await http.post(f"/users/{alice.username}/follow")).status_code == 422
        assert (await http.post("/users/nobody-here/follow")).status_code == 404
        event = await ws.wait_for(lambda f: f.get("event") == "follow.created")
        assert event["data"]["follower"]["username"] == alice.username
        assert await _counts(database_url, bob) == (1, 0)
        assert await _counts(database_url, alice) == (0, 1)
        followers = (await http.get(f"/users/{bob.username}/followers")).json()
        assert [u["username"] for u in followers["items"]] == [alice.username]
        following = (await http.get(f"/users/{alice.username}/following")).json()
        assert [u["username"] for u in following["items"]] == [bob.username]
        assert (await http.delete(f"/users/{bob.username}/follow")).status_code == 204
        assert (await http.delete(f"/users/{bob.username}/follow")).status_code == 204
        await ws.wait_for(lambda f: f.get("event") == "follow.deleted")
        assert await _counts(database_url, bob) == (0, 0)
        assert len(ws.events(event="follow.deleted")) == 1  # the second unfollow changed nothing
    # bob's devices were told, and his notifications keep it (once, though alice came and went)
    told = await ws.wait_for(lambda f: f.get("event") == "notification")
    assert told["data"]["kind"] == "new_follower"
    assert told["data"]["title"] == f"@{alice.username} follows you"
    async with _http(server, bob) as http:
        listed = (await http.get("/notifications", params={"unread": "true"})).json()["items"]
        assert [n["id"] for n in listed] == [told["data"]["id"]]
        for bad in ({"ids": ["not-a-uuid"]}, {"everything": True}, {"ids": "x"}):
            assert (await http.post("/notifications/read", json=bad)).status_code == 422, bad
        assert (await http.post("/notifications/read", json={})).json() == {"unread": 0}
        assert (await http.get("/notifications", params={"unread": "true"})).json()["items"] == []
        everything = await http.get("/notifications")
        assert len(everything.json()["items"]) == 1
        assert everything.headers["x-event-seq"].startswith(f"user:{bob.id}=")
    # a private profile cannot be followed (nor is its existence revealed)
    carol = await register(server.base_url)
    conn = await asyncpg.connect(database_url)
    await conn.execute("UPDATE users SET public_profile = false WHERE id = $1", carol.id)
    await conn.close()
    async with _http(server, alice) as http:
        assert (await http.post(f"/users/{carol.username}/follow")).status_code == 404
        assert (await http.get(f"/users/{carol.username}/followers")).status_code == 404
    # over the WebSocket too
    follow = await ws.call("follow", {"username": alice.username})
    assert follow["type"] == "ack" and follow["result"]["username"] == alice.username
    bad = await ws.call("follow", {"username": bob.username})
    assert bad["type"] == "error" and bad["code"] == "bad_request"
    await ws.close()


async def test_concurrent_follows_keep_the_counters_exact(
    server: ServerProcess, database_url: str
) -> None:
    star = await register(server.base_url)
    fans = await asyncio.gather(*(register(server.base_url) for _ in range(25)))

    async def follow_twice_and_unfollow(fan: Account, keep: bool) -> None:
        async with _http(server, fan) as http:
            await asyncio.gather(
                http.post(f"/users/{star.username}/follow"),
                http.post(f"/users/{star.username}/follow"),
            )
            if not keep:
                await asyncio.gather(
                    http.delete(f"/users/{star.username}/follow"),
                    http.delete(f"/users/{star.username}/follow"),
                )

    await asyncio.gather(*(follow_twice_and_unfollow(f, i % 5 != 0) for i, f in enumerate(fans)))
    conn = await asyncpg.connect(database_url)
    rows = await conn.fetchval("SELECT count(*) FROM follows WHERE followee_id = $1", star.id)
    await conn.close()
    assert rows == 20
    assert await _counts(database_url, star) == (20, 0)
    for i, fan in enumerate(fans):
        assert await _counts(database_url, fan) == (0, 1 if i % 5 != 0 else 0)


def _feed_items(ws: WsClient) -> list[dict[str, Any]]:
    return [f for f in ws.frames if f.get("event") == "feed.item"]


@pytest.fixture
async def two_processes(
    database_url: str, redis_service: RedisService
) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    env = server_env(database_url, redis_service.url)
    async with running_server(env) as a, running_server(env) as b:
        yield a, b


async def test_feed_items_reach_connected_followers_on_any_process(
    two_processes: tuple[ServerProcess, ServerProcess], database_url: str
) -> None:
    a, b = two_processes
    reader, author, stranger = [await register(a.base_url) for _ in range(3)]
    book = await book_for(database_url, author.id, public=True)
    async with _http(a, reader) as http:
        assert (await http.post(f"/users/{author.username}/follow")).status_code == 201
    phone = WsClient(a.ws_url, reader.token, "phone")  # the follower on process A
    other = WsClient(a.ws_url, stranger.token, "other")  # not a follower
    await phone.open()
    await other.open()
    async with _http(b, author) as http:  # the author writes on process B
        await post_highlight(http, book, "a private thought", public=False)
        shared = await post_highlight(http, book, "a line worth sharing", public=True)
    item = await phone.wait_for(lambda f: f.get("event") == "feed.item")
    assert item["channel"] == f"user:{reader.id}" and "seq" not in item
    assert item["data"]["kind"] == "highlight" and item["data"]["item"]["id"] == shared
    assert item["data"]["author"]["username"] == author.username
    await asyncio.sleep(0.5)
    assert len(_feed_items(phone)) == 1  # the private one never reached a feed
    assert _feed_items(other) == []
    # the feed over REST: the public highlight only
    async with _http(a, reader) as http:
        page = (await http.get("/feed")).json()
    assert [(e["kind"], e["item"]["id"]) for e in page["items"]] == [("highlight", shared)]
    # following from another device while the socket is open: heard at once
    async with _http(b, stranger) as http:
        assert (await http.post(f"/users/{author.username}/follow")).status_code == 201
    await asyncio.sleep(0.5)
    async with _http(b, author) as http:
        second = await post_highlight(http, book, "another fine line", public=True)
    heard = await other.wait_for(lambda f: f.get("event") == "feed.item")
    assert heard["data"]["item"]["id"] == second
    async with _http(a, stranger) as http:
        assert (await http.delete(f"/users/{author.username}/follow")).status_code == 204
    await asyncio.sleep(0.5)
    async with _http(b, author) as http:
        await post_highlight(http, book, "a third line", public=True)
    await phone.wait_for(lambda f: f.get("event") == "feed.item"
                         and f["data"]["item"]["selected_text"] == "a third line")  # fmt: skip
    assert len(_feed_items(other)) == 1  # unfollowed: not the third
    await phone.close()
    await other.close()


async def test_feed_pages(server: ServerProcess, database_url: str) -> None:
    reader, author = await register(server.base_url), await register(server.base_url)
    book = await book_for(database_url, author.id, public=True)
    async with _http(server, reader) as http:
        await http.post(f"/users/{author.username}/follow")
    async with _http(server, author) as http:
        made = [await post_highlight(http, book, f"line number {i}", public=True)
                for i in range(5)]  # fmt: skip
    seen: list[str] = []
    cursor = None
    async with _http(server, reader) as http:
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await http.get("/feed", params=params)).json()
            seen += [e["item"]["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert seen == list(reversed(made))


async def test_a_reader_following_hundreds_hears_each_of_them(
    two_processes: tuple[ServerProcess, ServerProcess], database_url: str
) -> None:
    """The followed authors are subscribed in one command when the socket opens."""
    a, b = two_processes
    reader = await register(a.base_url)
    authors = [await register(a.base_url) for _ in range(3)]
    conn = await asyncpg.connect(database_url)
    others = [r["id"] for r in await conn.fetch(
        "INSERT INTO users (email, username) SELECT n || '@x.local', n "
        "FROM (SELECT 'many' || g || md5(random()::text) AS n FROM generate_series(1, 400) g) s "
        "RETURNING id")]  # fmt: skip
    followed = [*others[:200], *(x.id for x in authors), *others[200:]]
    await conn.execute(
        "INSERT INTO follows (follower_id, followee_id) SELECT $1, unnest($2::uuid[])",
        reader.id, followed,
    )  # fmt: skip
    # the counters a follow keeps (a followed author's items are published only then)
    await conn.execute("UPDATE users SET followers_count = followers_count + 1 "
                       "WHERE id = ANY($1::uuid[])", followed)  # fmt: skip
    await conn.execute("UPDATE users SET following_count = $2 WHERE id = $1", reader.id,
                       len(followed))  # fmt: skip
    await conn.close()
    ws = WsClient(a.ws_url, reader.token, "phone")
    await ws.open()
    for n, author in enumerate(authors):
        book = await book_for(database_url, author.id, public=True)
        async with _http(b, author) as http:
            await post_highlight(http, book, f"from author number {n}", public=True)
    await ws.wait_for(lambda f: len(_feed_items(ws)) == 3)
    assert sorted(f["data"]["author"]["username"] for f in _feed_items(ws)) == sorted(
        x.username for x in authors
    )
    await ws.close()
