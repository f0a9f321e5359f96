"""Issue 13 §2: what is not public stays unseen. A public highlight on a private book is
its owner's alone: it reaches no feed (stored or live), cannot be shared by others, and
others get 404 for it, as for the book."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest
import websockets

from server.db import create_pool
from server.settings import Settings
from server.storage import LocalStorage
from tests.e2e.helpers import Account, book_for, confirm, register
from tests.services import ServerProcess
from tests.wsclient import WsClient
from workers import context
from workers.maintenance import purge_expired

pytestmark = pytest.mark.e2e

QUOTE = "It is a truth universally acknowledged, that a single man"


def _http(server: ServerProcess, account: Account) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {account.token}"}
    return httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers, timeout=30)


@asynccontextmanager
async def _maintenance(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool with the worker context bound, to run maintenance jobs as the scheduler
    would (no files on disk to remove: books here are rows only)."""
    pool = await create_pool(database_url, min_size=1, max_size=2)
    context.bind(Settings(), pool, LocalStorage(Path("/nonexistent")), lambda _: None)
    try:
        yield pool
    finally:
        await pool.close()


async def _public_highlight(http: httpx.AsyncClient, book: object, text: str) -> str:
    made = await http.post(f"/books/{book}/highlights", json={
        "selected_text": text, "page_number": 1, "start_offset": 0, "end_offset": len(text),
        "public": True, "note": "my private thoughts"})  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_public_items_on_a_private_book_stay_with_its_owner(
    server: ServerProcess, database_url: str
) -> None:
    author, fan = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, author, fan)
    private_book = await book_for(database_url, author.id)
    public_book = await book_for(database_url, author.id, public=True)
    fan_ws = WsClient(server.ws_url, fan.token, "fan-phone")
    await fan_ws.open()
    async with _http(server, author) as mine, _http(server, fan) as theirs:
        assert (await theirs.post(f"/users/{author.username}/follow")).status_code == 201
        await asyncio.sleep(0.3)  # the fan's open socket starts hearing the author
        hidden = await _public_highlight(mine, private_book, QUOTE + " (hidden)")
        shown = await _public_highlight(mine, public_book, QUOTE + " (shown)")
        templates = (await mine.get("/templates")).json()
        template = next(t["id"] for t in templates if not t["is_premium"])
        own_share = await mine.post(f"/highlights/{hidden}/share", json={"template_id": template})
        assert own_share.status_code == 201  # the owner may share from their own book

        # live: only the item on the public book arrives
        item = await fan_ws.wait_for(lambda f: f.get("event") == "feed.item")
        assert item["data"]["item"]["id"] == shown
        await asyncio.sleep(0.5)
        items = [f for f in fan_ws.frames if f.get("event") == "feed.item"]
        assert [f["data"]["item"]["id"] for f in items] == [shown]

        # stored: the same
        feed = (await theirs.get("/feed")).json()["items"]
        assert [(e["kind"], e["item"]["id"]) for e in feed] == [("highlight", shown)]
        listed = await theirs.get(f"/books/{public_book}/highlights", params={"scope": "public"})
        assert [h["id"] for h in listed.json()["items"]] == [shown]
        assert (await theirs.get(f"/books/{public_book}/highlights")).json()["items"] == []
        assert (
            await theirs.get(f"/books/{private_book}/highlights", params={"scope": "public"})
        ).status_code == 404

        # others get 404 for it, whatever they try
        for reply in (
            await theirs.patch(f"/highlights/{hidden}", json={"color": "red"}),
            await theirs.delete(f"/highlights/{hidden}"),
            await theirs.post(f"/highlights/{hidden}/share", json={"template_id": template}),
        ):
            assert reply.status_code == 404, reply.text
        # while one on a public book is visible but not theirs to change
        assert (
            await theirs.patch(f"/highlights/{shown}", json={"color": "red"})
        ).status_code == 403
        note = await mine.post(f"/books/{private_book}/annotations", json={
            "annotation_type": "text", "content": "hidden note", "page_number": 1,
            "public": True})  # fmt: skip
        annotation = note.json()["id"]
        assert (
            await theirs.patch(f"/annotations/{annotation}", json={"content": "x"})
        ).status_code == 404
    await fan_ws.close()


async def test_a_forged_host_header_reaches_no_link(server: ServerProcess) -> None:
    account = await register(server.base_url)
    async with httpx.AsyncClient(timeout=30) as raw:
        forged = await raw.get(server.base_url + "/api/v1/users/me", headers={
            "Host": "evil.example", "Authorization": f"Bearer {account.token}"})  # fmt: skip
        assert forged.status_code == 400
        assert (await raw.get(server.base_url + "/healthz")).status_code == 200
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(server.ws_url, additional_headers={"Host": "evil.example"}):
            pass


async def test_replay_forgets_what_stopped_being_public(
    server: ServerProcess, database_url: str
) -> None:
    author, reader = await register(server.base_url), await register(server.base_url)
    book = await book_for(database_url, author.id, public=True)
    async with _http(server, author) as mine:
        secret = await _public_highlight(mine, book, QUOTE + " (then private)")
        assert (
            await mine.patch(f"/highlights/{secret}", json={"note": "second secret"})
        ).is_success
        assert (await mine.patch(f"/highlights/{secret}", json={"public": False})).is_success
        deleted = await _public_highlight(mine, book, QUOTE + " (then deleted)")
        assert (await mine.delete(f"/highlights/{deleted}")).status_code == 204
        note = await mine.post(f"/books/{book}/annotations", json={
            "annotation_type": "text", "content": "a secret annotation", "page_number": 1,
            "public": True})  # fmt: skip
        assert (await mine.delete(f"/annotations/{note.json()['id']}")).status_code == 204
        kept = await _public_highlight(mine, book, QUOTE + " (still public)")
    ws = WsClient(server.ws_url, reader.token, "reader")
    await ws.open()
    channel = f"book:{book}"
    head = (await ws.subscribe(channel, since=0))["result"]["seq"]
    replayed = await ws.wait_events(channel, head)
    await ws.close()
    assert [f["seq"] for f in replayed] == list(range(1, head + 1))  # still gapless
    text = str(replayed)
    assert "secret" not in text and "then private" not in text and "then deleted" not in text
    shown = {f["data"].get("id") for f in replayed if f["event"] == "highlight.created"}
    assert shown == {kept}
    assert {f["event"] for f in replayed} == {
        "highlight.created",
        "highlight.deleted",
        "annotation.deleted",
        "book.stats",
        "redacted",
    }


async def test_private_profiles_stay_out_of_lists_and_presence(
    server: ServerProcess, database_url: str
) -> None:
    star, shy, open_fan = [await register(server.base_url) for _ in range(3)]
    async with _http(server, shy) as http:
        assert (await http.post(f"/users/{star.username}/follow")).status_code == 201
        assert (await http.patch("/users/me", json={"public_profile": False})).is_success
        # the private reader still sees themselves
        mine = (await http.get(f"/users/{star.username}/followers")).json()["items"]
        assert [u["username"] for u in mine] == [shy.username]
        following = (await http.get(f"/users/{shy.username}/following")).json()["items"]
        assert [u["username"] for u in following] == [star.username]
    async with _http(server, open_fan) as http:
        assert (await http.post(f"/users/{star.username}/follow")).status_code == 201
        listed = (await http.get(f"/users/{star.username}/followers")).json()["items"]
        assert [u["username"] for u in listed] == [open_fan.username]
    book = await book_for(database_url, star.id, public=True)
    watcher = WsClient(server.ws_url, open_fan.token, "watcher")
    hidden = WsClient(server.ws_url, shy.token, "shy-phone")
    await watcher.open()
    await watcher.subscribe(f"book:{book}")
    await hidden.open()
    await hidden.subscribe(f"book:{book}")
    await hidden.call("presence.set", {"book_id": str(book), "status": "reading"})
    visible = WsClient(server.ws_url, star.token, "star-phone")
    await visible.open()
    await visible.subscribe(f"book:{book}")
    joined = await watcher.wait_for(
        lambda f: (
            f.get("event") == "presence.join" and f["data"]["user"]["username"] == star.username
        )
    )
    assert joined["data"]["device"] == "star-phone"
    names = {
        f["data"]["user"]["username"] for f in watcher.frames if f.get("event") == "presence.join"
    }
    assert shy.username not in names
    for ws in (watcher, hidden, visible):
        await ws.close()


async def test_deleting_a_book_others_read_keeps_their_data(
    server: ServerProcess, database_url: str
) -> None:
    owner, reader = await register(server.base_url), await register(server.base_url)
    book = await book_for(database_url, owner.id, public=True)
    ws = WsClient(server.ws_url, reader.token, "reader")
    await ws.open()
    async with _http(server, reader) as theirs, _http(server, owner) as mine:
        kept = await _public_highlight(theirs, book, QUOTE + " (the reader's)")
        assert (await mine.delete(f"/books/{book}")).status_code == 204
        gone = await ws.wait_for(lambda f: f.get("event") == "book.deleted")
        assert gone["data"] == {"book_id": str(book)}
        for http in (mine, theirs):  # hidden from everyone, the owner included
            assert (await http.get(f"/books/{book}")).status_code == 404
            assert str(book) not in [b["id"] for b in (await http.get("/books")).json()["items"]]
    await ws.close()
    async with _maintenance(database_url) as pool:
        row = await pool.fetchrow("SELECT deleted_at, user_id FROM books WHERE id = $1", book)
        assert row is not None and row["deleted_at"] is not None
        left = await pool.fetchval("SELECT count(*) FROM highlights WHERE id = $1", UUID(kept))
        assert left == 1  # the reader's highlight is kept
        await purge_expired(pool)
        assert await pool.fetchval("SELECT count(*) FROM books WHERE id = $1", book) == 1
        # once the reader's data is gone too, the book is purged
        await pool.execute("UPDATE highlights SET deleted_at = now() WHERE id = $1", UUID(kept))
        assert (await purge_expired(pool))["books"] == 1
        assert await pool.fetchval("SELECT count(*) FROM books WHERE id = $1", book) == 0


async def test_purging_a_removed_account_removes_only_its_data(
    server: ServerProcess, database_url: str
) -> None:
    leaving, reader = await register(server.base_url), await register(server.base_url)
    await confirm(database_url, leaving, reader)
    shared_book = await book_for(database_url, leaving.id, public=True)
    own_book = await book_for(database_url, leaving.id)
    async with _http(server, leaving) as mine, _http(server, reader) as theirs:
        quoted = await _public_highlight(mine, shared_book, QUOTE + " (by the leaver)")
        kept = await _public_highlight(theirs, shared_book, QUOTE + " (by the reader)")
        templates = (await theirs.get("/templates")).json()
        template = next(t["id"] for t in templates if not t["is_premium"])
        share = await theirs.post(f"/highlights/{quoted}/share", json={"template_id": template})
        assert share.status_code == 201
    async with _maintenance(database_url) as pool:
        await pool.execute(
            "UPDATE users SET deleted_at = now() - interval '31 days' WHERE id = $1", leaving.id
        )
        assert (await purge_expired(pool))["accounts"] == 1
        assert await pool.fetchval("SELECT count(*) FROM users WHERE id = $1", leaving.id) == 0
        assert await pool.fetchval("SELECT count(*) FROM books WHERE id = $1", own_book) == 0
        book = await pool.fetchrow("SELECT user_id, deleted_at FROM books WHERE id = $1",
                                   shared_book)  # fmt: skip
        assert book is not None and book["user_id"] is None and book["deleted_at"] is not None
        left = "SELECT count(*) FROM highlights WHERE id = $1"
        assert await pool.fetchval(left, UUID(quoted)) == 0  # theirs went
        assert await pool.fetchval(left, UUID(kept)) == 1  # the other reader's stayed
        snapshot = await pool.fetchrow(
            "SELECT highlight_id, quote_text FROM quote_shares WHERE id = $1",
            UUID(share.json()["id"]),
        )
        assert snapshot is not None and snapshot["highlight_id"] is None
        assert snapshot["quote_text"].startswith("It is a truth")
