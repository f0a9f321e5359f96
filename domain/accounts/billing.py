"""Subscription changes: Stripe's `customer.subscription.*` webhook events, and an
administrator's hand. Either sets the stored tier and its expiry; the tier in force is
`effective_tier()` (a paid tier past its expiry is free), and open devices hear the
new quota."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec
from msgspec import Struct

from domain import events as ev
from domain.accounts.models import User, user_from_row
from domain.accounts.operations import Q
from domain.accounts.tiers import Tier
from domain.ai import quota
from domain.errors import Invalid, NotFound
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.sql import Conn
from domain.writes import Written

# Stripe keeps retrying a failed payment while past_due: the reader keeps the tier until
# the paid period ends (the expiry says when)
PAYING = {"active", "trialing", "past_due"}
SUBSCRIPTION_EVENTS = "customer.subscription."
USER_METADATA_KEY = "bookmind_user_id"


class StripePrice(Struct):
    id: str
    lookup_key: str | None = None


class StripeItem(Struct):
    price: StripePrice
    current_period_end: int | None = None  # where API versions from 2025 put it


class StripeItems(Struct):
    data: list[StripeItem] = []


class StripeSubscription(Struct):
    id: str
    customer: str
    status: str
    items: StripeItems = msgspec.field(default_factory=StripeItems)
    current_period_end: int | None = None  # where older API versions put it
    metadata: dict[str, str] = {}


class StripeEventData(Struct):
    object: dict[str, Any]


class StripeEvent(Struct):
    id: str
    type: str
    created: int
    data: StripeEventData


class BillingOutcome(Struct):
    """What a webhook delivery did: `applied`, `duplicate` (this event id was seen),
    `stale` (a newer event was applied), or `ignored` (not a subscription event, or a
    customer no account belongs to)."""

    result: Literal["applied", "duplicate", "stale", "ignored"]
    tier: Tier | None = None
    expires_at: datetime | None = None


class SubscriptionSet(Struct, forbid_unknown_fields=True):
    """An administrator's change: the tier, and when it ends (null: never)."""

    tier: Tier
    expires_at: datetime | None = None


def parse_price_tiers(setting: str | None) -> dict[str, Tier]:
    """`STRIPE_PRICE_TIERS`: `price_123=pro,price_456=premium`."""
    tiers: dict[str, Tier] = {}
    for pair in (setting or "").split(","):
        if not pair.strip():
            continue
        price, _, tier = pair.partition("=")
        if tier.strip() not in ("pro", "premium"):
            raise ValueError(f"STRIPE_PRICE_TIERS: {pair!r} is not price_id=pro|premium")
        tiers[price.strip()] = tier.strip()  # type: ignore[assignment]
    return tiers


def tier_of(sub: StripeSubscription, price_tiers: dict[str, Tier]) -> Tier:
    """The tier a subscription pays for: its price named in STRIPE_PRICE_TIERS, else a
    price whose lookup key is the tier's name."""
    for item in sub.items.data:
        if item.price.id in price_tiers:
            return price_tiers[item.price.id]
        if item.price.lookup_key in ("pro", "premium"):
            return item.price.lookup_key  # type: ignore[return-value]
    prices = ", ".join(i.price.id for i in sub.items.data) or "none"
    raise Invalid(f"subscription {sub.id} pays for no known tier (prices: {prices}); "
                  "list them in STRIPE_PRICE_TIERS")  # fmt: skip


def _period_end(sub: StripeSubscription) -> datetime | None:
    ends = [i.current_period_end for i in sub.items.data if i.current_period_end]
    end = max(ends) if ends else sub.current_period_end
    return datetime.fromtimestamp(end, UTC) if end else None


async def apply_stripe_event(
    conn: Conn, event: StripeEvent, price_tiers: dict[str, Tier]
) -> Written[BillingOutcome]:
    """Apply one verified webhook event, once (by its id) and in order (by its time)."""
    if not event.type.startswith(SUBSCRIPTION_EVENTS):
        return Written(BillingOutcome("ignored"))
    try:
        sub = msgspec.convert(event.data.object, StripeSubscription)
    except msgspec.ValidationError as exc:
        raise Invalid(f"not a subscription: {exc}") from None
    created = datetime.fromtimestamp(event.created, UTC)
    try:
        linked: UUID | None = UUID(sub.metadata.get(USER_METADATA_KEY, ""))
    except ValueError:
        linked = None
    async with conn.transaction():
        user_id = await conn.fetchval(Q.billing_customer, sub.customer, linked)
        newest = await conn.fetchval(Q.newest_billing_event, user_id) if user_id else None
        apply = user_id is not None and (newest is None or newest <= created)
        if await conn.fetchval(Q.record_billing_event, event.id, event.type, user_id, created,
                               apply) is None:  # fmt: skip
            return Written(BillingOutcome("duplicate"))
        if user_id is None:
            return Written(BillingOutcome("ignored"))
        if not apply:
            return Written(BillingOutcome("stale"))
        if event.type.endswith(".deleted") or sub.status not in PAYING:
            tier: Tier = "free"
            expires = None
        else:
            tier, expires = tier_of(sub, price_tiers), _period_end(sub)
        await conn.execute(Q.set_subscription, user_id, tier, expires, sub.customer)
        stored = await _tell_devices(conn, user_id, origin="billing")
    return Written(BillingOutcome("applied", tier, expires), stored)


async def set_subscription(conn: Conn, user_id: UUID, change: SubscriptionSet) -> Written[User]:
    """An administrator sets a reader's tier by hand (a refund, a gift, a support case)."""
    async with conn.transaction():
        row = await conn.fetchrow(Q.set_subscription, user_id, change.tier, change.expires_at, None)
        if row is None:
            raise NotFound("no such user")
        stored = await _tell_devices(conn, user_id, origin="admin")
    return Written(user_from_row(row), stored)


async def _tell_devices(conn: Conn, user_id: UUID, origin: str) -> list[StoredEvent]:
    now = await quota.today(conn, user_id)
    return await append_events(conn, [Event(user_channel(user_id), ev.QUOTA_UPDATED, now)], origin)
