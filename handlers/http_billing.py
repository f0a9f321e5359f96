"""POST /billing/stripe: Stripe's webhook. No bearer token: the request proves itself
with its `Stripe-Signature` (HMAC of the raw body with the signing secret)."""

from __future__ import annotations

from typing import Any

import msgspec
import stripe
from litestar import Request, post
from litestar.status_codes import HTTP_200_OK

from domain.accounts import billing
from domain.errors import Invalid, Unauthorized, Unavailable
from handlers.deps import PooledConn
from server.context import AppContext

# Stripe's own tolerance: a signed request older than this is a replay
SIGNATURE_TOLERANCE_S = 300


@post("/billing/stripe", status_code=HTTP_200_OK, tags=["billing"])
async def stripe_webhook(
    request: Request[Any, Any, Any], ctx: AppContext, conn: PooledConn
) -> billing.BillingOutcome:
    """Applies `customer.subscription.created|updated|deleted`: tier from the price,
    expiry from the paid period's end, by `stripe_customer_id` (or the
    `bookmind_user_id` the checkout put in the subscription's metadata). Each event id
    once; an event older than one applied changes nothing. Other event types: 200,
    ignored. A bad signature is 401; a price no tier is known for is 422 (Stripe
    retries, so fixing STRIPE_PRICE_TIERS applies it later)."""
    secret = ctx.settings.stripe_webhook_secret
    if not secret:
        raise Unavailable("billing is not configured (STRIPE_WEBHOOK_SECRET)")
    payload = await request.body()
    try:
        stripe.WebhookSignature.verify_header(
            payload, request.headers.get("stripe-signature"), secret, SIGNATURE_TOLERANCE_S
        )
    except stripe.SignatureVerificationError:
        raise Unauthorized("the Stripe-Signature does not match this body") from None
    try:
        event = msgspec.json.decode(payload, type=billing.StripeEvent)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Invalid(f"not a Stripe event: {exc}") from None
    written = await billing.apply_stripe_event(
        conn, event, billing.parse_price_tiers(ctx.settings.stripe_price_tiers)
    )
    ctx.hub.publish(written.events)
    return written.value
