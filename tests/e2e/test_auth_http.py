"""Auth and account flows over HTTP against a real uvicorn process (PROTOCOL.md §2)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from tests.services import ServerProcess

pytestmark = pytest.mark.e2e


def _new_user(prefix: str = "u") -> dict[str, str]:
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    return {"email": f"{name}@example.com", "username": name, "password": "correct horse"}


async def _register(http: httpx.AsyncClient, body: dict[str, str] | None = None) -> dict[str, Any]:
    resp = await http.post("/auth/register", json=body or _new_user())
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()
    return data


def _bearer(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def test_register_returns_user_and_tokens(http: httpx.AsyncClient) -> None:
    body = _new_user()
    session = await _register(http, body)
    assert set(session) >= {"user", "access_token", "refresh_token", "expires_in"}
    assert session["user"]["username"] == body["username"]
    assert session["user"]["email"] == body["email"]
    assert "encrypted_password" not in session["user"]
    me = await http.get("/users/me", headers=_bearer(session))
    assert me.status_code == 200
    assert me.json()["id"] == session["user"]["id"]


async def test_duplicate_in_other_case_is_409(http: httpx.AsyncClient) -> None:
    body = _new_user("Dup")
    await _register(http, body)
    again = {**body, "email": "x" + body["email"], "username": body["username"].upper()}
    resp = await http.post("/auth/register", json=again)
    assert resp.status_code == 409
    assert resp.json()["field"] == "username"
    again = {**body, "username": body["username"] + "x", "email": body["email"].upper()}
    resp = await http.post("/auth/register", json=again)
    assert resp.status_code == 409
    assert resp.json()["field"] == "email"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "x" * 31}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "p" * 257}, "password"),
        ({"password": 12345678}, "password"),
    ],
)
async def test_invalid_fields_are_422_naming_the_field(
    http: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    body = {**_new_user(), **change}
    resp = await http.post("/auth/register", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["field"] == field
    assert field in resp.json()["message"]


async def test_missing_field_and_unknown_field_are_422(http: httpx.AsyncClient) -> None:
    body = _new_user()
    del body["password"]
    resp = await http.post("/auth/register", json=body)
    assert resp.status_code == 422
    assert resp.json()["field"] == "password"
    resp = await http.post("/auth/register", json={**_new_user(), "is_admin": True})
    assert resp.status_code == 422
    assert resp.json()["field"] == "is_admin"


async def test_login_and_wrong_password(http: httpx.AsyncClient) -> None:
    body = _new_user()
    await _register(http, body)
    ok = await http.post(
        "/auth/login", json={"login": body["username"].upper(), "password": body["password"]}
    )
    assert ok.status_code == 200
    assert ok.json()["user"]["sign_in_count"] == 2
    wrong = await http.post("/auth/login", json={"login": body["email"], "password": "bad-pass1"})
    unknown = await http.post("/auth/login", json={"login": "ghost@x.io", "password": "bad-pass1"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"]


async def test_refresh_rotation_and_reuse(http: httpx.AsyncClient) -> None:
    session = await _register(http)
    rotated = await http.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != session["refresh_token"]
    assert (await http.get("/users/me", headers=_bearer(new))).status_code == 200
    reused = await http.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert reused.status_code == 401
    # reuse burned the chain, the rotated token included
    after = await http.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert after.status_code == 401


async def test_logout_revokes_the_refresh_token(http: httpx.AsyncClient) -> None:
    session = await _register(http)
    out = await http.post("/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert out.status_code == 204
    resp = await http.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert resp.status_code == 401


async def test_missing_forged_and_expired_tokens_are_401(
    http: httpx.AsyncClient, server: ServerProcess
) -> None:
    session = await _register(http)
    assert (await http.get("/users/me")).status_code == 401
    claims = jwt.decode(session["access_token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-secret-" + "x" * 32, algorithm="HS256")
    resp = await http.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status_code == 401
    secret = server.env["JWT_SECRET"]
    expired = jwt.encode({**claims, "exp": int(time.time()) - 5}, secret, algorithm="HS256")
    resp = await http.get("/users/me", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthorized"
    garbage = await http.get("/users/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert garbage.status_code == 401


async def test_failed_logins_are_slowed_with_retry_after(http: httpx.AsyncClient) -> None:
    body = _new_user()
    await _register(http, body)
    codes = []
    for _ in range(6):
        resp = await http.post("/auth/login", json={"login": body["username"], "password": "x" * 9})
        codes.append(resp.status_code)
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    assert int(resp.headers["Retry-After"]) >= 1
    # the right password is refused too while the lock holds
    right = await http.post(
        "/auth/login", json={"login": body["username"], "password": body["password"]}
    )
    assert right.status_code == 429


async def test_profile_patch_and_public_profiles(http: httpx.AsyncClient) -> None:
    alice = await _register(http)
    bob = await _register(http)
    resp = await http.patch(
        "/users/me",
        headers=_bearer(alice),
        json={
            "first_name": "Alice",
            "public_profile": False,
            "reading_preferences": {"theme": "sepia"},
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["reading_preferences"]["font_size"] == 16
    assert resp.json()["reading_preferences"]["theme"] == "sepia"
    name = alice["user"]["username"]
    assert (await http.get(f"/users/{name}", headers=_bearer(bob))).status_code == 404
    own = await http.get(f"/users/{name}", headers=_bearer(alice))
    assert own.status_code == 200
    assert "email" not in own.json()
    # by id too (a public highlight carries only its reader's id), with the same rule
    alice_id, bob_id = alice["user"]["id"], bob["user"]["id"]
    assert (await http.get(f"/users/{alice_id}", headers=_bearer(bob))).status_code == 404
    assert (await http.get(f"/users/{alice_id}", headers=_bearer(alice))).status_code == 200
    by_id = await http.get(f"/users/{bob_id}", headers=_bearer(alice))
    assert by_id.json()["username"] == bob["user"]["username"] and "email" not in by_id.json()
    assert (await http.get(f"/users/{uuid.uuid4()}", headers=_bearer(alice))).status_code == 404
    bad = await http.patch("/users/me", headers=_bearer(alice), json={"time_zone": "Nowhere/Land"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "time_zone"
    wrong_type = await http.patch(
        "/users/me", headers=_bearer(alice), json={"public_profile": "yes"}
    )
    assert wrong_type.status_code == 422


async def test_operations_endpoints(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ok"
        schema = await client.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert "/api/v1/auth/register" in schema.json()["paths"]
        await client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
        echoed = await client.get("/healthz", headers={"X-Request-ID": "trace-me-42"})
        assert echoed.headers["x-request-id"] == "trace-me-42"
        assert len((await client.get("/healthz")).headers["x-request-id"]) == 32
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        text = metrics.text
        for name in ("bookmind_requests_total", "bookmind_ws_connections", "bookmind_db_pool_size"):
            assert name in text, name


async def test_billing_is_off_without_its_signing_secret(http: httpx.AsyncClient) -> None:
    off = await http.post(
        "/billing/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=0"}
    )
    assert off.status_code == 503 and "STRIPE_WEBHOOK_SECRET" in off.json()["message"]
