"""Scheduled social jobs: trending quotes (and `trending.updated` when a ranking
changes) and the templates' usage and performance."""

from __future__ import annotations

from typing import Any

import asyncpg

from domain.channels import TRENDING
from domain.events import TRENDING_UPDATED
from domain.social import trending
from workers import context
from workers.broker import broker
from workers.schedule import run_once


async def rank_trending(pool: asyncpg.Pool) -> dict[str, Any]:
    changed = []
    async with pool.acquire() as conn:
        for timeframe in trending.TIMEFRAMES:
            if await trending.rerank(conn, timeframe):
                changed.append(timeframe)
                context.current().announce(
                    TRENDING, TRENDING_UPDATED, await trending.current(conn, timeframe)
                )
    return {"changed": changed}


async def template_metrics(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        return {"templates": await trending.update_template_metrics(conn)}


@broker.task(task_name="quotes.trending", schedule=[{"cron": "*/5 * * * *"}])
async def trending_task() -> dict[str, Any] | None:
    return await run_once("quotes.trending", 300, rank_trending)


@broker.task(task_name="quotes.template_metrics", schedule=[{"cron": "37 * * * *"}])
async def template_metrics_task() -> dict[str, Any] | None:
    return await run_once("quotes.template_metrics", 3600, template_metrics)
