"""Trending quotes: a ranking per timeframe by time-decayed engagement, stored in
`trending_quotes`; what changed is announced by the caller on the `trending` channel."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import msgspec

from domain.social.models import QuoteShare
from domain.social.sql import Q
from domain.sql import Conn

Timeframe = Literal["hourly", "daily", "weekly"]
# (window of shares considered, gravity): a shorter timeframe forgets faster
TIMEFRAMES: dict[str, tuple[timedelta, float]] = {
    "hourly": (timedelta(hours=24), 1.8),
    "daily": (timedelta(days=7), 1.5),
    "weekly": (timedelta(days=30), 1.2),
}
TOP = 50


class TrendingItem(msgspec.Struct, kw_only=True):
    rank: int
    score: float
    total_engagement: int
    quote: QuoteShare


class Trending(msgspec.Struct, kw_only=True):
    """`trending.updated` data, and the body of GET /trending."""

    timeframe: str
    items: list[TrendingItem]


async def rerank(conn: Conn, timeframe: str) -> bool:
    """Store the timeframe's ranking; True when its order changed."""
    window, gravity = TIMEFRAMES[timeframe]
    async with conn.transaction():
        rows = await conn.fetch(Q.rank_shares, window, gravity, TOP)
        before = [r["quote_share_id"] for r in await conn.fetch(Q.current_ranking, timeframe)]
        await conn.execute(Q.clear_ranking, timeframe)
        await conn.execute(
            Q.store_ranking, timeframe, window, [r["quote_share_id"] for r in rows],
            [r["score"] for r in rows], [r["engagement"] for r in rows],
        )  # fmt: skip
    return before != [r["quote_share_id"] for r in rows]


async def current(conn: Conn, timeframe: str) -> Trending:
    rows = await conn.fetch(Q.trending, timeframe)
    items = [msgspec.convert({**dict(r), "quote": r["quote"]}, TrendingItem) for r in rows]
    return Trending(timeframe=timeframe, items=items)


async def update_template_metrics(conn: Conn) -> int:
    status = await conn.execute(Q.template_metrics)
    return int(status.split()[-1])
