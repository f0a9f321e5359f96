"""What each subscription tier allows. The tier in force is the database's
`effective_tier()` (a paid tier past its expiry is free); this is what it grants."""

from __future__ import annotations

from typing import Literal

Tier = Literal["free", "pro", "premium"]

# AI questions per UTC day; None: no limit
DAILY_ASKS: dict[str, int | None] = {"free": 5, "pro": 100, "premium": None}


def daily_asks(tier: str) -> int | None:
    return DAILY_ASKS.get(tier, DAILY_ASKS["free"])


def asks_remaining(tier: str, used: int) -> int | None:
    limit = daily_asks(tier)
    return None if limit is None else max(0, limit - used)
