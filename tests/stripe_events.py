"""Stripe webhook deliveries as Stripe makes them: a `customer.subscription.*` event,
signed the way Stripe documents (`t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`) with a
local test secret. Written from the documented scheme, not from the stripe package, so
the server's verification is checked against the scheme itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

SECRET = "whsec_test_" + "k" * 32
PRO_PRICE = "price_test_pro"


def subscription_event(
    customer: str, *, kind: str = "updated", status: str = "active", price: str = PRO_PRICE,
    lookup_key: str | None = None, period_end: int | None = None, user_id: str | None = None,
    created: int | None = None, event_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    now = int(time.time())
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": f"customer.subscription.{kind}",
        "created": created or now,
        "livemode": False,
        "data": {"object": {
            "id": f"sub_{uuid.uuid4().hex[:14]}", "object": "subscription",
            "customer": customer, "status": status,
            "metadata": {"bookmind_user_id": user_id} if user_id else {},
            "items": {"object": "list", "data": [{
                "id": "si_1", "object": "subscription_item",
                "current_period_end": period_end or now + 30 * 86400,
                "price": {"id": price, "object": "price", "lookup_key": lookup_key},
            }]},
        }},
    }  # fmt: skip


def signature(body: bytes, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    t = at or int(time.time())
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={t},v1={mac}", "Content-Type": "application/json"}


def signed(
    event: dict[str, Any], secret: str = SECRET, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, signature(body, secret, at)
