"""Issue 13 §2: an open socket is checked for as long as it is open, not only at hello.
Expiry closes it with 4401 unless the client renewed its token in-band (`auth`); logout
and a burned refresh chain close that login's sockets; a book turned private drops its
other readers' subscriptions."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import book_for
from tests.services import ServerProcess, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e

TTL_S = 3


@pytest.fixture(scope="module")
async def short_tokens(database_url: str) -> AsyncIterator[ServerProcess]:
    async with running_server(server_env(database_url, ACCESS_TOKEN_TTL_S=str(TTL_S))) as proc:
        yield proc


async def _session(server: ServerProcess, name: str | None = None) -> dict[str, Any]:
    """Register (or, with `name`, log in again: a second login of the same account)."""
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=30) as http:
        if name is None:
            name = f"u{uuid.uuid4().hex[:12]}"
            body = {"email": f"{name}@example.com", "username": name, "password": "pw-" + name}
            reply = await http.post("/auth/register", json=body)
        else:
            reply = await http.post("/auth/login", json={"login": name, "password": "pw-" + name})
    assert reply.is_success, reply.text
    return {"name": name, **reply.json()}


async def _post(server: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=30) as http:
        return await http.post(path, json=body)


async def test_expiry_closes_unless_renewed_in_band(short_tokens: ServerProcess) -> None:
    me = await _session(short_tokens)
    stale = WsClient(short_tokens.ws_url, me["access_token"], "stale")
    fresh = WsClient(short_tokens.ws_url, me["access_token"], "fresh")
    await stale.open()
    await fresh.open()
    await asyncio.sleep(TTL_S - 1.5)
    renewed = await _post(short_tokens, "/auth/refresh", {"refresh_token": me["refresh_token"]})
    ack = await fresh.request({"type": "auth", "token": renewed.json()["access_token"]})
    assert ack["type"] == "ack" and ack["result"]["user_id"] == me["user"]["id"]
    assert await stale.wait_closed(TTL_S + 3) == 4401
    assert (await fresh.request({"type": "ping"}))["type"] == "pong"  # still open
    await fresh.close()


async def test_auth_frame_with_a_bad_or_foreign_token_closes(short_tokens: ServerProcess) -> None:
    me, other = await _session(short_tokens), await _session(short_tokens)
    for token in (other["access_token"], "not-a-token"):
        ws = WsClient(short_tokens.ws_url, me["access_token"], "phone")
        await ws.open()
        await ws.send({"type": "auth", "id": "a1", "token": token})
        assert await ws.wait_closed() == 4401


async def test_logout_and_a_burned_chain_close_that_logins_sockets(
    server: ServerProcess,
) -> None:
    first = await _session(server)
    second = await _session(server, first["name"])  # the same account on another device
    one = WsClient(server.ws_url, first["access_token"], "laptop")
    two = WsClient(server.ws_url, second["access_token"], "phone")
    await one.open()
    await two.open()
    assert (
        await _post(server, "/auth/logout", {"refresh_token": first["refresh_token"]})
    ).status_code == 204
    assert await one.wait_closed(5) == 4401
    assert (await two.request({"type": "ping"}))["type"] == "pong"  # the other login stays
    # the phone's refresh token is rotated, then the old one comes back: theft
    rotated = await _post(server, "/auth/refresh", {"refresh_token": second["refresh_token"]})
    assert rotated.status_code == 200
    again = await _post(server, "/auth/refresh", {"refresh_token": second["refresh_token"]})
    assert again.status_code == 401
    assert await two.wait_closed(5) == 4401


async def test_a_book_turned_private_drops_its_other_readers(
    server: ServerProcess, database_url: str
) -> None:
    owner, reader = await _session(server), await _session(server)
    book = await book_for(database_url, uuid.UUID(owner["user"]["id"]), public=True)
    channel = f"book:{book}"
    mine = WsClient(server.ws_url, owner["access_token"], "owner")
    theirs = WsClient(server.ws_url, reader["access_token"], "reader")
    for ws in (mine, theirs):
        await ws.open()
        assert (await ws.subscribe(channel))["type"] == "ack"
    headers = {"Authorization": f"Bearer {owner['access_token']}"}
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers) as http:
        assert (await http.patch(f"/books/{book}", json={"visibility": "private"})).is_success
        dropped = await theirs.wait_for(lambda f: f["type"] == "unsubscribed")
        assert dropped == {"type": "unsubscribed", "channel": channel, "reason": "forbidden"}
        made = await http.post(f"/books/{book}/highlights", json={
            "selected_text": "after it closed", "page_number": 1, "start_offset": 0,
            "end_offset": 15, "public": True})  # fmt: skip
        assert made.status_code == 201
    await mine.wait_for(lambda f: f.get("event") == "highlight.created" and f["channel"] == channel)
    await asyncio.sleep(0.3)
    assert theirs.events(channel=channel) == []
    again = await theirs.subscribe(channel)
    assert again["type"] == "error" and again["code"] == "forbidden"
    await mine.close()
    await theirs.close()


async def test_a_password_change_ends_every_session_of_the_account(server: ServerProcess) -> None:
    first = await _session(server)
    second = await _session(server, first["name"])  # another device, another login
    phone = WsClient(server.ws_url, first["access_token"], "phone")
    laptop = WsClient(server.ws_url, second["access_token"], "laptop")
    await phone.open()
    await laptop.open()
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", headers=headers) as http:
        wrong = await http.post("/users/me/password", json={
            "current_password": "not-it", "new_password": "brand-new-pass"})  # fmt: skip
        assert wrong.status_code == 403 and wrong.json()["field"] == "current_password"
        assert (await phone.request({"type": "ping"}))["type"] == "pong"  # nothing changed
        body = {"current_password": "pw-" + first["name"], "new_password": "brand-new-pass"}
        changed = await http.post("/users/me/password", json=body)
        assert changed.status_code == 204
    assert await phone.wait_closed(5) == 4401
    assert await laptop.wait_closed(5) == 4401
    for session in (first, second):  # every refresh chain is revoked
        again = await _post(server, "/auth/refresh", {"refresh_token": session["refresh_token"]})
        assert again.status_code == 401
    login = await _post(
        server, "/auth/login", {"login": first["name"], "password": "brand-new-pass"}
    )
    assert login.status_code == 200


async def test_removing_an_account_hides_it_and_closes_its_sockets(server: ServerProcess) -> None:
    me, fan = await _session(server), await _session(server)
    phone = WsClient(server.ws_url, me["access_token"], "phone")
    await phone.open()
    mine = {"Authorization": f"Bearer {me['access_token']}"}
    theirs = {"Authorization": f"Bearer {fan['access_token']}"}
    base = server.base_url + "/api/v1"
    async with httpx.AsyncClient(base_url=base, headers=theirs) as fan_http:
        assert (await fan_http.post(f"/users/{me['name']}/follow")).status_code == 201
    async with httpx.AsyncClient(base_url=base, headers=mine) as http:
        wrong = await http.request("DELETE", "/users/me", json={"password": "not-it"})
        assert wrong.status_code == 403 and wrong.json()["field"] == "password"
        gone = await http.request("DELETE", "/users/me", json={"password": "pw-" + me["name"]})
        assert gone.status_code == 202
    assert await phone.wait_closed(5) == 4401
    async with httpx.AsyncClient(base_url=base, headers=theirs) as fan_http:
        assert (await fan_http.get(f"/users/{me['name']}")).status_code == 404
        following = (await fan_http.get(f"/users/{fan['name']}/following")).json()["items"]
        assert following == []
    refused = await _post(server, "/auth/refresh", {"refresh_token": me["refresh_token"]})
    assert refused.status_code == 401
    # signing in again within the grace period restores it
    back = await _post(server, "/auth/login", {"login": me["name"], "password": "pw-" + me["name"]})
    assert back.status_code == 200
    async with httpx.AsyncClient(base_url=base, headers=theirs) as fan_http:
        assert (await fan_http.get(f"/users/{me['name']}")).status_code == 200
