"""Scheduled maintenance: partitions ahead of time, analytics views refreshed, expired
events and tombstones purged.

`python -m workers.maintenance refresh-views` (or `partitions`, `purge`) runs a job by hand."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from domain.events import purge_before
from domain.sql import Conn
from workers import context
from workers.broker import broker
from workers.schedule import run_once

log = logging.getLogger(__name__)

PARTITIONED = ("reading_sessions", "ai_conversations")
VIEWS = ("user_reading_stats", "book_popularity_stats", "daily_platform_metrics")
MONTHS_AHEAD = 3


async def ensure_partitions(pool: asyncpg.Pool) -> dict[str, int]:
    """Create the current and next months' partitions that are missing."""
    return {
        table: await pool.fetchval("SELECT ensure_partitions_ahead($1, $2)", table, MONTHS_AHEAD)
        for table in PARTITIONED
    }


async def refresh_views(pool: asyncpg.Pool) -> dict[str, float]:
    """Refresh the analytics views without blocking their readers (CONCURRENTLY)."""
    timings = {}
    for view in VIEWS:
        started = asyncio.get_running_loop().time()
        await pool.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {view}")
        timings[view] = round(asyncio.get_running_loop().time() - started, 3)
    return timings


TOMBSTONED = ("highlights", "bookmarks", "annotations")


async def purge_expired(pool: asyncpg.Pool) -> dict[str, int]:
    """Drop channel events older than the retention period, and the tombstones of
    deletions every device has had that long to hear of (a later resume gets `resync`)."""
    days = context.current().settings.event_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    counts = {}
    async with pool.acquire() as conn:
        counts["channel_events"] = await purge_before(conn, cutoff)
        for table in TOMBSTONED:
            counts[table] = await _delete_in_batches(
                conn, f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} "
                "WHERE deleted_at < $1 LIMIT 5000)", cutoff
            )  # fmt: skip
    return counts


async def _delete_in_batches(conn: Conn, statement: str, *args: object) -> int:
    total = 0
    while True:
        status = await conn.execute(statement, *args)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted == 0:
            return total


@broker.task(task_name="maintenance.partitions", schedule=[{"cron": "7 * * * *"}])
async def partitions_task() -> dict[str, Any] | None:
    return await run_once("partitions", 3600, ensure_partitions)


@broker.task(task_name="maintenance.purge_expired", schedule=[{"cron": "17 * * * *"}])
async def purge_expired_task() -> dict[str, Any] | None:
    return await run_once("purge_expired", 3600, purge_expired)


@broker.task(task_name="maintenance.refresh_views", schedule=[{"cron": "*/5 * * * *"}])
async def refresh_views_task() -> dict[str, Any] | None:
    return await run_once("refresh_views", 300, refresh_views)


async def _main(command: str) -> int:
    from server.settings import Settings

    settings = Settings.from_env()
    await context.open_standalone(settings)
    try:
        pool = context.current().pool
        jobs: dict[str, Callable[[asyncpg.Pool], Awaitable[Any]]] = {
            "refresh-views": refresh_views,
            "partitions": ensure_partitions,
            "purge": purge_expired,
        }
        if command not in jobs:
            print(f"usage: python -m workers.maintenance {{{'|'.join(jobs)}}}", file=sys.stderr)
            return 2
        print(await jobs[command](pool))
        return 0
    finally:
        await context.close_standalone()


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else "")))
