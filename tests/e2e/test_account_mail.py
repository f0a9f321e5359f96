"""Password reset, email confirmation and changes of address, through a real server that
sends real mail to a real SMTP server (aiosmtpd) on loopback, and activity tracking."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import book_for
from tests.mailbox import Mailbox, text_of, token_in
from tests.services import ServerProcess, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse"
RESET = "#/reset-password/"
CONFIRM = "#/confirm-email/"


@pytest.fixture(scope="module")
async def server(database_url: str, mailbox: Mailbox) -> AsyncIterator[ServerProcess]:
    env = server_env(database_url, SMTP_URL=mailbox.url, MAIL_FROM="BookMind <mail@bookmind.test>",
                     ACTIVITY_FLUSH_S="0.3")  # fmt: skip
    async with running_server(env) as proc:
        yield proc


async def _register(http: httpx.AsyncClient) -> dict[str, Any]:
    name = f"m{uuid.uuid4().hex[:10]}"
    made = await http.post("/auth/register", json={
        "email": f"{name}@example.com", "username": name, "password": PASSWORD})  # fmt: skip
    assert made.status_code == 201, made.text
    session: dict[str, Any] = made.json()
    return session


def _auth(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def test_a_forgotten_password_is_reset_by_mail_once(
    http: httpx.AsyncClient, server: ServerProcess, mailbox: Mailbox
) -> None:
    session = await _register(http)
    email = session["user"]["email"]
    socket = WsClient(server.ws_url, session["access_token"], "phone")
    await socket.open()

    asked = await http.post("/auth/password-reset", json={"email": email.upper()})
    unknown = await http.post("/auth/password-reset", json={"email": "nobody@example.com"})
    assert asked.status_code == unknown.status_code == 202
    assert asked.content == unknown.content  # nobody learns which addresses exist
    mail = await mailbox.wait_for(email, "Reset your BookMind password")
    assert mail["From"] == "BookMind <mail@bookmind.test>"
    token = token_in(mail, RESET)
    assert mailbox.to("nobody@example.com") == []

    weak = await http.post(
        "/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    forged = await http.post("/auth/password-reset/confirm",
                             json={"token": token[:-2], "password": "new password 1"})  # fmt: skip
    assert forged.status_code == 422 and forged.json()["field"] == "token"

    done = await http.post("/auth/password-reset/confirm",
                           json={"token": token, "password": "new password 1"})  # fmt: skip
    assert done.status_code == 204, done.text
    assert await socket.wait_closed(5) == 4401  # every session of the account ended
    refreshed = await http.post("/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert refreshed.status_code == 401
    old = await http.post("/auth/login", json={"login": email, "password": PASSWORD})
    assert old.status_code == 401
    new = await http.post("/auth/login", json={"login": email, "password": "new password 1"})
    assert new.status_code == 200
    assert new.json()["user"]["confirmed_at"] is not None  # the link proved the address

    again = await http.post("/auth/password-reset/confirm",
                            json={"token": token, "password": "new password 2"})  # fmt: skip
    assert again.status_code == 422 and again.json()["field"] == "token"


async def test_a_reset_link_expires_after_an_hour_and_mails_are_limited(
    http: httpx.AsyncClient, mailbox: Mailbox, database_url: str
) -> None:
    session = await _register(http)
    email = session["user"]["email"]
    await http.post("/auth/password-reset", json={"email": email})
    token = token_in(await mailbox.wait_for(email, "Reset"), RESET)
    conn = await asyncpg.connect(database_url)
    try:  # an hour passes
        await conn.execute("UPDATE account_tokens SET expires_at = now() - interval '1 second',"
                           " created_at = now() - interval '61 minutes'"
                           " WHERE user_id = $1", uuid.UUID(session["user"]["id"]))  # fmt: skip
    finally:
        await conn.close()
    late = await http.post("/auth/password-reset/confirm",
                           json={"token": token, "password": "new password 1"})  # fmt: skip
    assert late.status_code == 422 and late.json()["field"] == "token"

    for _ in range(5):
        assert (await http.post("/auth/password-reset", json={"email": email})).status_code == 202
    await asyncio.sleep(1)
    resets = [m for m in mailbox.to(email) if "Reset" in str(m["Subject"])]
    assert len(resets) == 1 + 3  # the expired one, then three an hour


async def test_an_address_is_confirmed_by_its_link_and_sharing_waits_for_it(
    http: httpx.AsyncClient, mailbox: Mailbox, database_url: str
) -> None:
    session = await _register(http)
    email, user_id = session["user"]["email"], session["user"]["id"]
    assert session["user"]["confirmed_at"] is None
    mail = await mailbox.wait_for(email, "Confirm your email address")
    token = token_in(mail, CONFIRM)

    # unconfirmed: reading, writing and asking work; a public quote card does not
    book = await book_for(database_url, uuid.UUID(user_id))
    assert (await http.get(f"/books/{book}", headers=_auth(session))).status_code == 200
    made = await http.post(f"/books/{book}/highlights", headers=_auth(session), json={
        "selected_text": "A sentence worth sharing.", "page_number": 1, "start_offset": 0,
        "end_offset": 25})  # fmt: skip
    assert made.status_code == 201
    template = next(t["id"] for t in (await http.get("/templates", headers=_auth(session))).json()
                    if not t["is_premium"])  # fmt: skip
    share = f"/highlights/{made.json()['id']}/share"
    refused = await http.post(share, headers=_auth(session), json={"template_id": template})
    assert refused.status_code == 403 and "confirm your email" in refused.json()["message"]

    resent = await http.post("/users/me/confirmation", headers=_auth(session))
    assert resent.status_code == 202
    await asyncio.sleep(0.5)
    assert len([m for m in mailbox.to(email) if "Confirm" in str(m["Subject"])]) == 2

    confirmed = await http.post("/auth/confirm-email", json={"token": token})  # no sign-in needed
    assert confirmed.status_code == 204, confirmed.text
    me = (await http.get("/users/me", headers=_auth(session))).json()
    assert me["confirmed_at"] is not None
    assert (await http.post("/auth/confirm-email", json={"token": token})).status_code == 422
    assert (await http.post("/users/me/confirmation", headers=_auth(session))).status_code == 409
    shared = await http.post(share, headers=_auth(session), json={"template_id": template})
    assert shared.status_code == 201, shared.text


async def test_email_and_username_changes(http: httpx.AsyncClient, mailbox: Mailbox) -> None:
    session, other = await _register(http), await _register(http)
    headers, old_email = _auth(session), session["user"]["email"]
    new_email = f"new-{uuid.uuid4().hex[:8]}@example.com"

    bare = await http.patch("/users/me", headers=headers, json={"email": new_email})
    assert bare.status_code == 422 and bare.json()["field"] == "current_password"
    wrong = await http.patch("/users/me", headers=headers,
                             json={"email": new_email, "current_password": "not it"})  # fmt: skip
    assert wrong.status_code == 403 and wrong.json()["field"] == "current_password"
    taken = await http.patch("/users/me", headers=headers, json={
        "email": other["user"]["email"].upper(), "current_password": PASSWORD})  # fmt: skip
    assert taken.status_code == 409 and taken.json()["field"] == "email"
    assert (await http.get("/users/me", headers=headers)).json()["email"] == old_email

    moved = await http.patch("/users/me", headers=headers,
                             json={"email": new_email, "current_password": PASSWORD})  # fmt: skip
    assert moved.status_code == 200, moved.text
    assert moved.json()["email"] == new_email and moved.json()["confirmed_at"] is None
    notice = await mailbox.wait_for(old_email, "email address was changed")
    assert new_email in text_of(notice)
    await mailbox.wait_for(new_email, "Confirm your email address")
    login = await http.post("/auth/login", json={"login": new_email, "password": PASSWORD})
    assert login.status_code == 200
    # the old address's confirmation link confirms nothing any more
    stale = token_in(await mailbox.wait_for(old_email, "Confirm"), CONFIRM)
    assert (await http.post("/auth/confirm-email", json={"token": stale})).status_code == 422

    clash = await http.patch("/users/me", headers=headers,
                             json={"username": other["user"]["username"].upper()})  # fmt: skip
    assert clash.status_code == 409 and clash.json()["field"] == "username"
    bad = await http.patch("/users/me", headers=headers, json={"username": "no spaces"})
    assert bad.status_code == 422 and bad.json()["field"] == "username"
    renamed_to = f"r{uuid.uuid4().hex[:10]}"
    renamed = await http.patch("/users/me", headers=headers, json={"username": renamed_to})
    assert renamed.status_code == 200 and renamed.json()["username"] == renamed_to
    assert (await http.get(f"/users/{renamed_to}", headers=headers)).status_code == 200
    login = await http.post("/auth/login", json={"login": renamed_to, "password": PASSWORD})
    assert login.status_code == 200


async def test_onboarding_and_last_activity(
    http: httpx.AsyncClient, server: ServerProcess, database_url: str
) -> None:
    session = await _register(http)
    headers = _auth(session)
    assert session["user"]["onboarding_completed"] == {}
    step = await http.patch("/users/me", headers=headers,
                            json={"onboarding_completed": {"library_tour": True}})  # fmt: skip
    more = await http.patch("/users/me", headers=headers,
                            json={"onboarding_completed": {"first_highlight": True}})  # fmt: skip
    assert step.status_code == more.status_code == 200
    assert more.json()["onboarding_completed"] == {"library_tour": True, "first_highlight": True}
    huge = await http.patch("/users/me", headers=headers,
                            json={"onboarding_completed": {"x": "y" * 5000}})  # fmt: skip
    assert huge.status_code == 422 and huge.json()["field"] == "onboarding_completed"

    async def stored() -> asyncpg.Record:
        conn = await asyncpg.connect(database_url)
        try:
            row = await conn.fetchrow("SELECT last_active_at, updated_at FROM users WHERE id = $1",
                                      uuid.UUID(session["user"]["id"]))  # fmt: skip
        finally:
            await conn.close()
        assert row is not None
        return row

    await asyncio.sleep(0.8)  # the PATCHes are written at the next flush
    before = await stored()
    await asyncio.sleep(0.8)
    assert await stored() == before  # nothing happened: nothing moves
    await http.get("/books", headers=headers)
    await asyncio.sleep(0.8)
    after_request = await stored()
    assert after_request["last_active_at"] > before["last_active_at"]
    assert after_request["updated_at"] == before["updated_at"]  # activity is no profile change

    socket = WsClient(server.ws_url, session["access_token"], "tablet")
    await socket.open()
    await asyncio.sleep(0.8)
    assert (await stored())["last_active_at"] > after_request["last_active_at"]
    await socket.close()
