"""The effective tier, Stripe's webhook and the administrator's route, against a real
server: signatures, idempotency, order, and what open devices hear."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import Account, register
from tests.services import ServerProcess, running_server
from tests.stripe_events import PRO_PRICE, SECRET, signature, signed, subscription_event
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e

WEBHOOK = "/billing/stripe"


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[ServerProcess]:
    env = server_env(database_url, STRIPE_WEBHOOK_SECRET=SECRET,
                     STRIPE_PRICE_TIERS=f"{PRO_PRICE}=pro,price_test_premium=premium")  # fmt: skip
    async with running_server(env) as proc:
        yield proc


async def _sql(database_url: str, query: str, *args: Any) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(query, *args)
    finally:
        await conn.close()


async def _me(http: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    me: dict[str, Any] = (await http.get("/users/me", headers=_auth(account))).json()
    return me


def _auth(account: Account) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.token}"}


async def test_the_account_shows_the_tier_in_force_and_questions_left(
    server: ServerProcess, http: httpx.AsyncClient, database_url: str
) -> None:
    reader = await register(server.base_url)
    me = await _me(http, reader)
    assert me["subscription_tier"] == "free" and me["ai_queries_remaining_today"] == 5
    await _sql(
        database_url,
        """UPDATE users SET subscription_tier = 'pro',
               subscription_expires_at = now() + interval '1 day' WHERE id = $1""",
        reader.id,
    )
    await _sql(
        database_url,
        """INSERT INTO ai_daily_usage (user_id, day, asks)
               VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 7)""",
        reader.id,
    )
    me = await _me(http, reader)
    assert me["subscription_tier"] == "pro" and me["ai_queries_remaining_today"] == 93
    await _sql(database_url, "UPDATE users SET subscription_expires_at = now() - interval '1 s'"
               " WHERE id = $1", reader.id)  # fmt: skip
    me = await _me(http, reader)  # the paid period is over: free, whose 5 are used up
    assert me["subscription_tier"] == "free" and me["ai_queries_remaining_today"] == 0
    assert me["subscription_expires_at"] is not None  # what was paid for stays visible


async def test_stripe_events_set_the_tier_once_and_in_order(
    server: ServerProcess, http: httpx.AsyncClient
) -> None:
    reader = await register(server.base_url)
    socket = WsClient(server.ws_url, reader.token, "phone")
    await socket.open()
    customer = f"cus_{uuid.uuid4().hex[:14]}"
    period_end = int(time.time()) + 30 * 86400
    first = subscription_event(customer, kind="created", user_id=str(reader.id),
                               period_end=period_end)  # fmt: skip

    body, headers = signed(first)
    forged = {**headers, "Stripe-Signature": headers["Stripe-Signature"][:-4] + "0000"}
    assert (await http.post(WEBHOOK, content=body, headers=forged)).status_code == 401
    stale_sig = signed(first, at=int(time.time()) - 3600)
    assert (await http.post(WEBHOOK, content=stale_sig[0], headers=stale_sig[1])).status_code == 401
    other_secret = signed(first, secret="whsec_someone_elses")
    assert (await http.post(WEBHOOK, content=other_secret[0],
                            headers=other_secret[1])).status_code == 401  # fmt: skip
    assert (await _me(http, reader))["subscription_tier"] == "free"  # nothing changed

    applied = await http.post(WEBHOOK, content=body, headers=headers)
    assert applied.status_code == 200, applied.text
    assert applied.json()["result"] == "applied" and applied.json()["tier"] == "pro"
    me = await _me(http, reader)
    assert me["subscription_tier"] == "pro" and me["ai_queries_remaining_today"] == 100
    expires = datetime.fromisoformat(me["subscription_expires_at"].replace("Z", "+00:00"))
    assert expires == datetime.fromtimestamp(period_end, UTC)
    told = await socket.wait_for(lambda f: f.get("event") == "quota.updated")
    assert told["data"]["tier"] == "pro" and told["data"]["daily_limit"] == 100

    again = await http.post(WEBHOOK, content=body, headers=headers)  # Stripe retries
    assert again.status_code == 200 and again.json()["result"] == "duplicate"

    # a later event, by the customer id alone (the account is linked now): premium
    upgrade = subscription_event(customer, price="price_anything", lookup_key="premium",
                                 created=int(time.time()) + 5)  # fmt: skip
    done = await http.post(WEBHOOK, content=signed(upgrade)[0], headers=signed(upgrade)[1])
    assert done.json()["result"] == "applied" and done.json()["tier"] == "premium"
    me = await _me(http, reader)
    assert me["subscription_tier"] == "premium" and me["ai_queries_remaining_today"] is None

    # an older event delivered late changes nothing
    late = subscription_event(customer, created=int(time.time()) - 60)
    stale = await http.post(WEBHOOK, content=signed(late)[0], headers=signed(late)[1])
    assert stale.json()["result"] == "stale"
    assert (await _me(http, reader))["subscription_tier"] == "premium"

    unknown_price = subscription_event(customer, price="price_nobody_knows",
                                       created=int(time.time()) + 10)  # fmt: skip
    refused = await http.post(WEBHOOK, content=signed(unknown_price)[0],
                              headers=signed(unknown_price)[1])  # fmt: skip
    assert refused.status_code == 422 and "STRIPE_PRICE_TIERS" in refused.json()["message"]
    retried = await http.post(WEBHOOK, content=signed(unknown_price)[0],
                              headers=signed(unknown_price)[1])  # fmt: skip
    assert retried.status_code == 422  # not recorded: Stripe's retry can still apply it

    ended = subscription_event(customer, kind="deleted", status="canceled",
                               created=int(time.time()) + 20)  # fmt: skip
    gone = await http.post(WEBHOOK, content=signed(ended)[0], headers=signed(ended)[1])
    assert gone.json()["result"] == "applied" and gone.json()["tier"] == "free"
    me = await _me(http, reader)
    assert me["subscription_tier"] == "free" and me["ai_queries_remaining_today"] == 5
    await socket.close()


async def test_what_the_webhook_ignores(server: ServerProcess, http: httpx.AsyncClient) -> None:
    reader = await register(server.base_url)
    invoice = {**subscription_event("cus_x"), "type": "invoice.paid"}
    ignored = await http.post(WEBHOOK, content=signed(invoice)[0], headers=signed(invoice)[1])
    assert ignored.status_code == 200 and ignored.json()["result"] == "ignored"
    stranger = subscription_event(f"cus_{uuid.uuid4().hex[:14]}")
    nobody = await http.post(WEBHOOK, content=signed(stranger)[0], headers=signed(stranger)[1])
    assert nobody.status_code == 200 and nobody.json()["result"] == "ignored"
    # a customer linked to one account is not taken over by another id in the metadata
    customer = f"cus_{uuid.uuid4().hex[:14]}"
    mine = subscription_event(customer, user_id=str(reader.id))
    assert (await http.post(WEBHOOK, content=signed(mine)[0], headers=signed(mine)[1])).json()[
        "result"] == "applied"  # fmt: skip
    thief = await register(server.base_url)
    hijack = subscription_event(customer, lookup_key="premium", price="price_x",
                                user_id=str(thief.id), created=int(time.time()) + 5)  # fmt: skip
    await http.post(WEBHOOK, content=signed(hijack)[0], headers=signed(hijack)[1])
    assert (await _me(http, thief))["subscription_tier"] == "free"
    assert (await _me(http, reader))["subscription_tier"] == "premium"

    garbage = b'{"id": "evt_1", "type": "customer.subscription.updated"}'
    refused = await http.post(WEBHOOK, content=garbage, headers=signature(garbage))
    assert refused.status_code == 422
    not_json = b"{{{"
    assert (await http.post(WEBHOOK, content=not_json,
                            headers=signature(not_json))).status_code == 422  # fmt: skip


async def test_an_administrator_sets_a_tier_by_hand(
    server: ServerProcess, http: httpx.AsyncClient, database_url: str
) -> None:
    admin, reader = await register(server.base_url), await register(server.base_url)
    path = f"/admin/users/{reader.id}/subscription"
    body = {"tier": "pro", "expires_at": "2099-01-01T00:00:00Z"}
    assert (await http.put(path, json=body, headers=_auth(reader))).status_code == 403
    await _sql(database_url, "UPDATE users SET is_admin = true WHERE id = $1", admin.id)
    socket = WsClient(server.ws_url, reader.token, "tablet")
    await socket.open()
    bad = await http.put(path, json={"tier": "gold"}, headers=_auth(admin))
    assert bad.status_code == 422 and bad.json()["field"] == "tier"
    missing = f"/admin/users/{uuid.uuid4()}/subscription"
    assert (await http.put(missing, json=body, headers=_auth(admin))).status_code == 404
    done = await http.put(path, json=body, headers=_auth(admin))
    assert done.status_code == 200 and done.json()["subscription_tier"] == "pro"
    told = await socket.wait_for(lambda f: f.get("event") == "quota.updated")
    assert told["data"]["daily_limit"] == 100
    assert (await _me(http, reader))["subscription_tier"] == "pro"
    await socket.close()
