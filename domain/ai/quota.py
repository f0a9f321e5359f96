"""Daily asks per subscription tier (UTC day), taken atomically before any model call."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from msgspec import Struct

from domain.accounts import tiers
from domain.ai.sql import Q
from domain.errors import QuotaExceeded
from domain.sql import Conn

UNCOUNTED = 2**31 - 1


async def take(conn: Conn, user_id: UUID) -> None:
    tier = await conn.fetchval(Q.tier, user_id) or "free"
    limit = tiers.daily_asks(tier)
    # an unlimited tier is counted too (`used_today`, stats), under a limit never reached
    if await conn.fetchval(Q.take_ask, user_id, UNCOUNTED if limit is None else limit) is None:
        raise QuotaExceeded(f"the {tier} plan allows {limit} questions a day; more tomorrow (UTC)")


async def give_back(conn: Conn, user_id: UUID) -> None:
    """An ask that produced nothing (the model failed before its first word) is not
    counted."""
    await conn.execute(Q.give_back_ask, user_id)


class Quota(Struct, kw_only=True):
    """`GET /users/me/quota`: what the reader may still ask today (null: no limit)."""

    tier: str
    daily_limit: int | None
    used_today: int
    remaining_today: int | None
    resets_at: datetime


async def today(conn: Conn, user_id: UUID) -> Quota:
    tier = await conn.fetchval(Q.tier, user_id) or "free"
    used = await conn.fetchval(Q.asks_today, user_id)
    midnight = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), time(), UTC)
    return Quota(
        tier=tier, daily_limit=tiers.daily_asks(tier), used_today=used,
        remaining_today=tiers.asks_remaining(tier, used), resets_at=midnight,
    )  # fmt: skip
