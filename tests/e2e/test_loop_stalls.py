"""Issue 13 §1: nothing one account sends may stall a web process for everyone. Each
attack runs against a real server while another process polls `/healthz`; the probe
stays fast and the attacker gets a clear answer."""

from __future__ import annotations

import httpx
import pytest

from tests import attacks
from tests.e2e.helpers import book_for, register
from tests.services import ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EXPECTED = {
    "tag soup annotations (REST)": {404},  # the book is looked up before any work
    "tag soup annotation.create (/ws)": {200},  # within the content limit: stored, fast
    "zip with 2M directory entries": {415},
    "position_data 90 KB / 1 MB": {422, 413},  # over 4 KiB: 422; over the body limit: 413
    "5 MB login body": {413},
}


@pytest.mark.parametrize("name", list(attacks.ATTACKS))
async def test_attack_does_not_stall_the_loop(
    name: str, server: ServerProcess, database_url: str
) -> None:
    account = await register(server.base_url)
    book = await book_for(database_url, account.id)
    target = attacks.Target(server.base_url, account.token, str(book))
    async with attacks.probing(server.base_url) as probe:
        codes = await attacks.ATTACKS[name](target)
    (result,) = probe
    assert set(codes) <= EXPECTED[name], codes
    assert result.quantile(0.99) < 100, f"{name}: {result.summary()}"


async def test_oversized_position_data_is_refused_naming_the_field(
    http: httpx.AsyncClient, server: ServerProcess, database_url: str
) -> None:
    account = await register(server.base_url)
    book = await book_for(database_url, account.id)
    headers = {"Authorization": f"Bearer {account.token}"}
    span = {"selected_text": "x", "page_number": 1, "start_offset": 0, "end_offset": 1}
    deep: dict[str, object] = {}
    for _ in range(20):
        deep = {"d": deep}
    for position in ({"blob": "p" * 5000}, deep):
        reply = await http.post(f"/books/{book}/highlights", headers=headers,
                                json={**span, "position_data": position})  # fmt: skip
        assert reply.status_code == 422, reply.text
        assert reply.json()["field"] == "position_data"
    fine = await http.post(f"/books/{book}/highlights", headers=headers,
                           json={**span, "position_data": {"cfi": "/6/4!/4/2:0"}})  # fmt: skip
    assert fine.status_code == 201
    listed = await http.get(f"/books/{book}/highlights", headers=headers)
    assert len(listed.json()["items"]) == 1  # the refused ones changed nothing
    prefs = {"reading_preferences": {f"k{i}": "v" * 100 for i in range(30)}}
    assert (await http.patch("/users/me", headers=headers, json=prefs)).status_code == 200
    more = {"reading_preferences": {f"j{i}": "v" * 100 for i in range(30)}}
    grown = await http.patch("/users/me", headers=headers, json=more)
    assert grown.status_code == 422 and grown.json()["field"] == "reading_preferences"


async def test_json_routes_refuse_large_bodies(http: httpx.AsyncClient) -> None:
    reply = await http.post("/auth/register", content=b'{"email": "' + b"a" * 300_000 + b'"}',
                            headers={"Content-Type": "application/json"})  # fmt: skip
    assert reply.status_code == 413
    assert reply.json()["code"] == "too_large"


async def test_json_bodies_are_decoded_strictly(
    http: httpx.AsyncClient, server: ServerProcess, database_url: str
) -> None:
    """Litestar's lax conversion took 0 for false and "3" for 3 and stored them; bodies
    are now held to their types, as WebSocket params are."""
    account = await register(server.base_url)
    book = await book_for(database_url, account.id)
    headers = {"Authorization": f"Bearer {account.token}"}
    made = await http.post("/collections", headers=headers, json={"title": "t", "public": 0})
    assert made.status_code == 422 and made.json()["field"] == "public"
    for content_type in ({}, {"Content-Type": "text/plain"}):  # JSON all the same
        untyped = await http.post("/collections", headers={**headers, **content_type},
                                  content=b'{"title": "t", "public": 0}')  # fmt: skip
        assert untyped.status_code == 422, untyped.text
    progress = {"current_page": "3", "progress_percentage": 0.1, "device": "phone"}
    moved = await http.put(f"/books/{book}/progress", headers=headers, json=progress)
    assert moved.status_code == 422 and moved.json()["field"] == "current_page"
    fine = await http.put(f"/books/{book}/progress", headers=headers,
                          json={**progress, "current_page": 3})  # fmt: skip
    assert fine.status_code == 200, fine.text
