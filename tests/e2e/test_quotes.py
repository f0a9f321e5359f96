"""Quote cards end to end: share a highlight, the card opened with Pillow, the public page
without sign-in (escaped, with Open Graph tags), engagements, referral sign-ups, and who
may share what."""

from __future__ import annotations

import io
import re
import uuid

import asyncpg
import httpx
import pytest
from PIL import Image, ImageStat

from tests.e2e.helpers import Account, book_for, confirm, post_highlight, register
from tests.services import ServerProcess
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e

HOSTILE = '<script>alert("x")</script> & "quotes" are <b>not</b> markup'


def _http(server: ServerProcess, account: Account | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {account.token}"} if account else {}
    return httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=30)


async def _templates(http: httpx.AsyncClient) -> dict[str, dict[str, object]]:
    listed = (await http.get("/api/v1/templates")).json()
    return {t["name"]: t for t in listed}


async def test_share_renders_a_card_and_a_public_page(
    server: ServerProcess, database_url: str
) -> None:
    reader = await register(server.base_url)
    await confirm(database_url, reader)
    book = await book_for(database_url, reader.id)
    ws = WsClient(server.ws_url, reader.token, "phone")
    await ws.open()
    async with _http(server, reader) as http:
        templates = await _templates(http)
        assert len(templates) >= 4 and sum(bool(t["is_premium"]) for t in templates.values()) >= 1
        highlight = await post_highlight(http, book, HOSTILE, prefix="/api/v1")
        made = await http.post(f"/api/v1/highlights/{highlight}/share", json={
            "template_id": templates["Midnight"]["id"], "platforms": ["twitter"],
            "share_message": "Read this <now>", "hashtags": ["books"]})  # fmt: skip
        assert made.status_code == 201, made.text
        share = made.json()
        code = share["referral_code"]
        assert re.fullmatch(r"[A-Za-z0-9_-]{8,}", code)
        assert share["shareable_url"].endswith(f"/q/{code}")
        assert share["quote_text"] == HOSTILE
    event = await ws.wait_for(lambda f: f.get("event") == "quote.shared")
    assert event["data"]["id"] == share["id"]
    async with _http(server) as public:  # no sign-in
        card = await public.get(f"/q/{code}.png")
        assert card.status_code == 200 and card.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(card.content))
        assert image.size == (1200, 675)  # the twitter size of the template
        spread = ImageStat.Stat(image.convert("L")).stddev[0]
        assert spread > 10, "the card is blank"
        page = await public.get(f"/q/{code}")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        body = page.text
        assert "<script>alert" not in body and "&lt;script&gt;alert(&quot;x&quot;)" in body
        assert "<b>not</b>" not in body and "Read this &lt;now&gt;" in body
        assert f'<meta property="og:image" content="{share["card_image_url"]}">' in body
        assert '<meta name="twitter:card" content="summary_large_image">' in body
        assert (await public.get("/q/no-such-code")).status_code == 404
        assert (await public.get(f"/q/{code}")).status_code == 200  # the same visitor again
    async with _http(server, reader) as http:
        seen = (await http.get(f"/api/v1/quotes/{share['id']}")).json()
        # the public page counted once for its visitor, and seeing it in the app is a view
        assert seen["views_count"] == 2
        for kind in ("like", "like", "save", "view", "click"):
            engaged = await http.post(
                f"/api/v1/quotes/{share['id']}/engagements", json={"kind": kind}
            )
            assert engaged.status_code == 201
        final = engaged.json()
        # one reader counts once: the second like changed nothing
        assert (final["likes_count"], final["saves_count"], final["views_count"]) == (1, 1, 2)
        assert final["engagement_rate"] == 100.0  # (1 like + 1 save) / 2 views x 100
        again = await http.post(f"/api/v1/quotes/{share['id']}/engagements", json={"kind": "view"})
        assert again.json()["views_count"] == 2  # a view counts once a day per reader
        unliked = await http.delete(f"/api/v1/quotes/{share['id']}/engagements/like")
        assert unliked.status_code == 200 and unliked.json()["likes_count"] == 0
        unliked = await http.delete(f"/api/v1/quotes/{share['id']}/engagements/like")
        assert unliked.json()["likes_count"] == 0  # taken back once
        relike = await http.post(f"/api/v1/quotes/{share['id']}/engagements", json={"kind": "like"})
        assert relike.json()["likes_count"] == 1
        bad = await http.post(f"/api/v1/quotes/{share['id']}/engagements", json={"kind": "hug"})
        assert bad.status_code == 422
    # a sign-up through the link credits the share
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1") as http:
        newcomer = {"email": "newcomer-q@example.com", "username": "newcomer_q",
                    "password": "pass-newcomer", "referral_code": code}  # fmt: skip
        joined = await http.post("/auth/register", json=newcomer)
        assert joined.status_code == 201
    conn = await asyncpg.connect(database_url)
    row = await conn.fetchrow("SELECT app_installs_attributed, viral_coefficient FROM quote_shares "
                              "WHERE id = $1", share["id"])  # fmt: skip
    referred = await conn.fetchval(
        "SELECT referred_by_share_id FROM users WHERE username = 'newcomer_q'"
    )
    await conn.close()
    assert (
        row is not None and row["app_installs_attributed"] == 1 and row["viral_coefficient"] == 1.0
    )
    # a second sign-up with no second click: 2 per click, as the seed defines it (uncapped)
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1") as http:
        second = {"email": "second-q@example.com", "username": "second_q",
                  "password": "pass-second", "referral_code": code}  # fmt: skip
        assert (await http.post("/auth/register", json=second)).status_code == 201
    conn = await asyncpg.connect(database_url)
    coefficient = await conn.fetchval(
        "SELECT viral_coefficient FROM quote_shares WHERE id = $1", share["id"]
    )
    await conn.close()
    assert coefficient == 2.0
    assert str(referred) == share["id"]
    await ws.close()


async def test_who_may_share_what(server: ServerProcess, database_url: str) -> None:
    owner, other = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, owner, other)
    book = await book_for(database_url, owner.id, public=True)
    async with _http(server, owner) as http:
        templates = await _templates(http)
        private = await post_highlight(http, book, "a private line of the book", prefix="/api/v1")
        public = await post_highlight(
            http, book, "a public line of the book", public=True, prefix="/api/v1"
        )
        short = await post_highlight(http, book, "too short", prefix="/api/v1")
        free = templates["Classic Paper"]["id"]
        premium = next(t["id"] for t in templates.values() if t["is_premium"])
        tiny = await http.post(f"/api/v1/highlights/{short}/share", json={"template_id": free})
        assert tiny.status_code == 422 and tiny.json()["field"] == "quote_text"
        refused = await http.post(
            f"/api/v1/highlights/{private}/share", json={"template_id": premium}
        )
        assert refused.status_code == 403  # a premium template for a free reader
        bad_color = await http.post(f"/api/v1/highlights/{private}/share", json={
            "template_id": free, "customizations": {"text_color": "red"}})  # fmt: skip
        assert bad_color.status_code == 422
    async with _http(server, other) as http:
        assert (await http.post(f"/api/v1/highlights/{private}/share",
                                json={"template_id": free})).status_code == 404  # fmt: skip
        theirs = await http.post(f"/api/v1/highlights/{public}/share", json={"template_id": free})
        assert theirs.status_code == 201  # a public highlight may be quoted
    conn = await asyncpg.connect(database_url)
    await conn.execute("UPDATE users SET subscription_tier = 'pro' WHERE id = $1", owner.id)
    count = await conn.fetchval(
        "SELECT count(*) FROM quote_shares WHERE highlight_id = $1", private
    )
    await conn.close()
    assert count == 0  # the refusals left nothing behind
    async with _http(server, owner) as http:
        allowed = await http.post(
            f"/api/v1/highlights/{private}/share", json={"template_id": premium}
        )
        assert allowed.status_code == 201


async def _share(http: httpx.AsyncClient, book: object, text: str, template: object) -> str:
    highlight = await post_highlight(http, book, text, prefix="/api/v1")
    made = await http.post(f"/api/v1/highlights/{highlight}/share", json={"template_id": template})
    assert made.status_code == 201, made.text
    share_id: str = made.json()["id"]
    return share_id


async def test_collections_keep_order_notes_and_counts(
    server: ServerProcess, database_url: str
) -> None:
    curator, other = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, curator, other)
    book = await book_for(database_url, curator.id)
    async with _http(server, curator) as http:
        template = (await _templates(http))["Sunrise"]["id"]
        shares = [await _share(http, book, f"a quote worth keeping, number {i}", template)
                  for i in range(3)]  # fmt: skip
        counted = (await http.get(f"/api/v1/books/{book}")).json()
        # the owner's own cards: shares, none by the community
        assert (counted["total_shares"], counted["community_shares_count"]) == (3, 0)
        made = await http.post("/api/v1/collections", json={"title": "Keepers", "public": True})
        assert made.status_code == 201
        cid = made.json()["id"]
        for share in shares[:2]:
            added = await http.post(f"/api/v1/collections/{cid}/items",
                                    json={"quote_share_id": share})  # fmt: skip
            assert added.status_code == 201
        first = await http.post(f"/api/v1/collections/{cid}/items", json={
            "quote_share_id": shares[2], "position": 1, "curator_note": "start here"})  # fmt: skip
        assert first.json()["position"] == 1
        again = await http.post(f"/api/v1/collections/{cid}/items",
                                json={"quote_share_id": shares[0]})  # fmt: skip
        assert again.status_code == 409
        view = (await http.get(f"/api/v1/collections/{cid}")).json()
        assert [i["quote_share_id"] for i in view["items"]] == [shares[2], shares[0], shares[1]]
        assert [i["position"] for i in view["items"]] == [1, 2, 3]
        assert view["items"][0]["curator_note"] == "start here" and view["quotes_count"] == 3
        gone = await http.delete(f"/api/v1/collections/{cid}/items/{shares[0]}")
        assert gone.status_code == 204
        view = (await http.get(f"/api/v1/collections/{cid}")).json()
        assert [i["position"] for i in view["items"]] == [1, 2] and view["quotes_count"] == 2
        private = (await http.post("/api/v1/collections", json={"title": "Mine"})).json()["id"]
        listed = (await http.get("/api/v1/collections", params={"limit": 1})).json()
        assert [c["id"] for c in listed["items"]] == [private]  # newest first, one a page
        rest = await http.get("/api/v1/collections", params={"cursor": listed["next_cursor"]})
        assert [c["id"] for c in rest.json()["items"]] == [cid]
        assert rest.json()["next_cursor"] is None
    async with _http(server, other) as http:
        assert (await http.get(f"/api/v1/collections/{cid}")).status_code == 200  # public
        # the list is the caller's own: another's collections, public or not, are not in it
        assert (await http.get("/api/v1/collections")).json()["items"] == []
        change = await http.post(f"/api/v1/collections/{cid}/items",
                                 json={"quote_share_id": shares[0]})  # fmt: skip
        assert change.status_code == 403  # may see, may not change
        assert (
            await http.delete(f"/api/v1/collections/{cid}/items/{shares[1]}")
        ).status_code == 403
        assert (await http.get(f"/api/v1/collections/{private}")).status_code == 404
    conn = await asyncpg.connect(database_url)
    count = await conn.fetchval("SELECT quotes_count FROM quote_collections WHERE id = $1", cid)
    await conn.close()
    assert count == 2


async def test_curators_manage_collections_and_readers_follow_them(
    server: ServerProcess, database_url: str
) -> None:
    curator, fan = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, curator, fan)
    book = await book_for(database_url, curator.id)
    theme = "sea-" + curator.username
    async with _http(server, curator) as http:
        template = (await _templates(http))["Sunrise"]["id"]
        shares = [await _share(http, book, f"a line about the sea, number {i}", template)
                  for i in range(4)]  # fmt: skip
        cid = (await http.post("/api/v1/collections", json={"title": "Sea"})).json()["id"]
        for share in shares:
            await http.post(f"/api/v1/collections/{cid}/items", json={"quote_share_id": share})
        first = {"position": 1, "curator_note": "open with this"}
        moved = await http.patch(f"/api/v1/collections/{cid}/items/{shares[3]}", json=first)
        assert moved.status_code == 200 and moved.json()["position"] == 1
        back = await http.patch(f"/api/v1/collections/{cid}/items/{shares[0]}",
                                json={"position": 99})  # past the end: the last place  # fmt: skip
        assert back.json()["position"] == 4
        view = (await http.get(f"/api/v1/collections/{cid}")).json()
        assert [i["quote_share_id"] for i in view["items"]] == [
            shares[3], shares[1], shares[2], shares[0]
        ]  # fmt: skip
        assert [i["position"] for i in view["items"]] == [1, 2, 3, 4]
        changed = await http.patch(f"/api/v1/collections/{cid}", json={
            "title": "The sea", "description": "Salt", "theme": theme, "public": True,
            "cover_quote_share_id": shares[3]})  # fmt: skip
        assert changed.status_code == 200, changed.text
        card = (await http.get(f"/api/v1/quotes/{shares[3]}")).json()["card_image_url"]
        assert (changed.json()["title"], changed.json()["cover_image_url"]) == ("The sea", card)
        not_in_it = await http.patch(f"/api/v1/collections/{cid}",
                                     json={"cover_quote_share_id": str(uuid.uuid4())})  # fmt: skip
        assert not_in_it.status_code == 404
        for bad in ({"title": ""}, {"public": "yes"}, {"owner": "x"}):
            assert (await http.patch(f"/api/v1/collections/{cid}", json=bad)).status_code == 422

        # a card its reader removes leaves the collection, and its page says so
        code = (await http.get(f"/api/v1/quotes/{shares[1]}")).json()["referral_code"]
        listed = await http.get("/api/v1/quotes", params={"limit": 10})
        assert listed.headers["x-event-seq"].startswith(f"user:{curator.id}=")
        mine = listed.json()["items"]
        assert [q["id"] for q in mine] == list(reversed(shares))
        assert (await http.delete(f"/api/v1/quotes/{shares[1]}")).status_code == 204
        view = (await http.get(f"/api/v1/collections/{cid}")).json()
        assert [i["quote_share_id"] for i in view["items"]] == [shares[3], shares[2], shares[0]]
        assert [i["position"] for i in view["items"]] == [1, 2, 3] and view["quotes_count"] == 3
        assert (await http.get(f"/api/v1/quotes/{shares[1]}")).status_code == 404
        assert (await http.delete(f"/api/v1/quotes/{shares[1]}")).status_code == 404
    async with httpx.AsyncClient(base_url=server.base_url) as public:
        removed = await public.get(f"/q/{code}")
        assert removed.status_code == 410 and "was removed" in removed.text
        assert (await public.get(f"/q/{code}.png")).status_code == 404

    async with _http(server, fan) as http:
        assert (await http.delete(f"/api/v1/quotes/{shares[2]}")).status_code == 403
        found = await http.get("/api/v1/collections/public", params={"theme": theme.upper()})
        assert [c["id"] for c in found.json()["items"]] == [cid]
        followed = await http.post(f"/api/v1/collections/{cid}/follow")
        assert followed.status_code == 200 and followed.json()["followers_count"] == 1
        again = await http.post(f"/api/v1/collections/{cid}/follow")
        assert again.json()["followers_count"] == 1  # once per reader
        listed = (await http.get("/api/v1/collections/following")).json()["items"]
        assert [c["id"] for c in listed] == [cid]
        assert (
            await http.patch(f"/api/v1/collections/{cid}", json={"title": "x"})
        ).status_code == 403
        assert (await http.delete(f"/api/v1/collections/{cid}")).status_code == 403
        assert (await http.delete(f"/api/v1/collections/{cid}/follow")).status_code == 204
        assert (await http.get(f"/api/v1/collections/{cid}")).json()["followers_count"] == 0
    async with _http(server, curator) as http:
        assert (await http.delete(f"/api/v1/collections/{cid}")).status_code == 204
        assert (await http.get(f"/api/v1/collections/{cid}")).status_code == 404
        # the quotes in it stay their reader's
        assert (await http.get(f"/api/v1/quotes/{shares[0]}")).status_code == 200


async def test_trending_ranks_and_broadcasts(server: ServerProcess, database_url: str) -> None:
    from pathlib import Path

    from server.db import create_pool
    from server.settings import Settings
    from server.storage import LocalStorage
    from workers import context
    from workers.social import rank_trending, template_metrics

    author, watcher = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, author, watcher)
    book = await book_for(database_url, author.id)
    async with _http(server, author) as http:
        template = (await _templates(http))["Typewriter"]["id"]
        hot, warm = [await _share(http, book, f"a quote that may trend, {n}", template)
                     for n in ("hot", "warm")]  # fmt: skip
        # one account counts once per kind: the hot one gets more kinds, not more likes
        for share, kinds in ((hot, ("like", "save", "share", "click")), (warm, ("like",))):
            for kind in kinds:
                await http.post(f"/api/v1/quotes/{share}/engagements", json={"kind": kind})
    ws = WsClient(server.ws_url, watcher.token, "w")
    await ws.open()
    await ws.subscribe("trending")
    await ws.wait_for(lambda f: f.get("event") == "trending.updated"
                      and f["data"]["timeframe"] == "weekly")  # fmt: skip
    snapshots = [f for f in ws.frames if f.get("event") == "trending.updated"]
    assert {s["data"]["timeframe"] for s in snapshots} == {"hourly", "daily", "weekly"}
    announced: list[tuple[str, str, object]] = []
    pool = await create_pool(database_url, min_size=1, max_size=2)
    context.bind(Settings(), pool, LocalStorage(Path("/nonexistent")), lambda _: None,
                 lambda c, e, d: announced.append((c, e, d)))  # fmt: skip
    try:
        result = await rank_trending(pool)
        assert set(result["changed"]) == {"hourly", "daily", "weekly"}
        assert [a[1] for a in announced] == ["trending.updated"] * 3
        assert (await rank_trending(pool))["changed"] == []  # nothing moved: no broadcast
        assert (await template_metrics(pool))["templates"] >= 5
        usage = await pool.fetchval("SELECT usage_count FROM quote_templates WHERE id = $1",
                                    template)  # fmt: skip
        assert usage >= 2
    finally:
        await pool.close()
    async with _http(server, watcher) as http:
        daily = (await http.get("/api/v1/trending", params={"timeframe": "daily"})).json()
        ids = [item["quote"]["id"] for item in daily["items"]]
        assert ids.index(hot) < ids.index(warm) and daily["items"][0]["rank"] == 1
        assert (
            await http.get("/api/v1/trending", params={"timeframe": "yearly"})
        ).status_code == 422
    await ws.close()


async def test_share_and_engage_over_call(server: ServerProcess, database_url: str) -> None:
    """`quote.share` and `quote.engage` as WebSocket calls (PROTOCOL.md §4.2): the same
    rules as REST, the card's links on the address the socket reached, and another
    reader's private highlight is not there."""
    reader, other = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, reader, other)
    book = await book_for(database_url, reader.id)
    ws = WsClient(server.ws_url, reader.token, "phone")
    await ws.open()
    async with _http(server, reader) as http:
        template = (await _templates(http))["Midnight"]["id"]
        highlight = await post_highlight(http, book, "A quote long enough to share.",
                                         prefix="/api/v1")  # fmt: skip
    shared = await ws.call("quote.share", {"highlight_id": highlight, "template_id": template,
                                           "platforms": ["instagram"]})  # fmt: skip
    assert shared["type"] == "ack", shared
    share = shared["result"]
    assert share["shareable_url"] == f"{server.base_url}/q/{share['referral_code']}"
    event = await ws.wait_for(lambda f: f.get("event") == "quote.shared")
    assert event["data"]["id"] == share["id"] and event["origin"] == "phone"
    liked = await ws.call("quote.engage", {"share_id": share["id"], "kind": "like"})
    assert liked["type"] == "ack" and liked["result"]["likes_count"] == 1, liked
    async with _http(server) as public:
        card = await public.get(f"/q/{share['referral_code']}.png")
        assert card.status_code == 200
    await ws.close()

    intruder = WsClient(server.ws_url, other.token, "laptop")
    await intruder.open()
    refused = await intruder.call("quote.share", {"highlight_id": highlight,
                                                  "template_id": template})  # fmt: skip
    assert refused["type"] == "error" and refused["code"] == "not_found", refused
    bad = await intruder.call("quote.engage", {"share_id": share["id"], "kind": "shout"})
    assert bad["type"] == "error" and bad["code"] == "bad_request", bad
    await intruder.close()
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """SELECT count(*) AS n, max(likes_count) AS likes FROM quote_shares
               WHERE highlight_id = $1""",
            highlight,
        )
    finally:
        await conn.close()
    assert row is not None and (row["n"], row["likes"]) == (1, 1)
