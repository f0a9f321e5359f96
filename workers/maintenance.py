"""Scheduled maintenance: partitions ahead of time, analytics views refreshed, expired
events and tombstones purged, old data cleaned as the seed says, reading sessions left
open closed.

`python -m workers.maintenance refresh-views` (or `partitions`, `purge`, `clean`,
`close-sessions`, `reminders`, `sweep-books`, `reindex`, `document-ids`) runs a job by hand."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from domain.accounts.operations import purge_removed
from domain.books.operations import purge_deleted
from domain.events import purge_before
from domain.notifications import operations as notifications
from domain.reading import media, sessions
from domain.social.files import quote_files_prefix
from domain.sql import Conn
from server.settings import Settings
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
        # accounts past their grace period go with their data (their books first, each
        # deleted or hidden while others have data on it) ...
        res = context.current()
        counts["accounts"], events = await purge_removed(conn, res.files)
        res.publish(events)
        # ... and after the tombstones, a deleted book may have lost its last reader's data
        counts["books"] = await purge_deleted(conn, res.files)
        # the recordings and pictures of annotations gone by any of these roads
        counts["annotation_media"] = await media.remove_orphans(conn, res.files)
    return counts


# the seed's retention: reading sessions a year, free readers' AI conversations three
# months, quote shares nobody viewed thirty days (with their card files)
SESSIONS_KEPT = timedelta(days=365)
FREE_CONVERSATIONS_KEPT = timedelta(days=91)
NOTIFICATIONS_KEPT = timedelta(days=90)
UNVIEWED_SHARES_KEPT = timedelta(days=30)
# a share nobody saw, engaged with (in the app or on its page) or collected: one that
# someone liked or put in a collection is kept, whatever its view count says
UNTOUCHED = (
    "q.views_count = 0 AND q.likes_count = 0 AND q.saves_count = 0 AND q.shares_count = 0 "
    "AND q.comments_count = 0 AND q.click_throughs = 0 "
    "AND NOT EXISTS (SELECT 1 FROM quote_engagement_marks m WHERE m.quote_share_id = q.id) "
    "AND NOT EXISTS (SELECT 1 FROM quote_collection_items i WHERE i.quote_share_id = q.id)"
)
BATCH = 5000


async def clean_old_data(pool: asyncpg.Pool) -> dict[str, int]:
    """Delete what the retention rules say, a batch per statement so no table is locked
    for long; log the counts."""
    now = datetime.now(UTC)
    counts = {}
    async with pool.acquire() as conn:
        counts["reading_sessions"] = await _delete_in_batches(
            conn, "DELETE FROM reading_sessions WHERE (id, started_at) IN (SELECT id, started_at "
            f"FROM reading_sessions WHERE started_at < $1 LIMIT {BATCH})", now - SESSIONS_KEPT,
        )  # fmt: skip
        counts["ai_conversations"] = await _delete_in_batches(
            conn, "DELETE FROM ai_conversations WHERE (id, created_at) IN (SELECT c.id, "
            "c.created_at FROM ai_conversations c JOIN users u ON u.id = c.user_id "
            "WHERE c.created_at < $1 "
            "AND effective_tier(u.subscription_tier, u.subscription_expires_at) = 'free' "
            f"LIMIT {BATCH})",
            now - FREE_CONVERSATIONS_KEPT,
        )  # fmt: skip
        counts["notifications"] = await _delete_in_batches(
            conn, "DELETE FROM notifications WHERE id IN (SELECT id FROM notifications "
            f"WHERE created_at < $1 LIMIT {BATCH})", now - NOTIFICATIONS_KEPT,
        )  # fmt: skip
        files = context.current().files
        shares = 0
        while True:
            ids = [r["id"] for r in await conn.fetch(
                "DELETE FROM quote_shares WHERE id IN (SELECT id FROM quote_shares q "
                f"WHERE {UNTOUCHED} AND created_at < $1 LIMIT {BATCH}) RETURNING id",
                now - UNVIEWED_SHARES_KEPT)]  # fmt: skip
            for share_id in ids:
                await files.delete_prefix(quote_files_prefix(share_id))
            shares += len(ids)
            if not ids:
                break
        counts["quote_shares"] = shares
    return counts


async def _delete_in_batches(conn: Conn, statement: str, *args: object) -> int:
    total = 0
    while True:
        status = await conn.execute(statement, *args)
        deleted = int(status.split()[-1])
        total += deleted
        if deleted == 0:
            return total


async def close_idle_sessions(pool: asyncpg.Pool) -> dict[str, int]:
    """End the reading sessions no device ended, at their last activity; every open
    device of the reader hears `session.ended`."""
    closed = 0
    while True:
        async with pool.acquire() as conn:
            stored = await sessions.close_stale(conn)
        context.current().publish(stored)
        closed += len(stored)
        if len(stored) < sessions.CLOSE_BATCH:
            return {"closed": closed}


@broker.task(task_name="maintenance.close_sessions", schedule=[{"cron": "*/10 * * * *"}])
async def close_sessions_task() -> dict[str, Any] | None:
    return await run_once("close_sessions", 600, close_idle_sessions)


async def remind_readers(pool: asyncpg.Pool) -> dict[str, int]:
    async with pool.acquire() as conn:
        stored = await notifications.send_reminders(conn, datetime.now(UTC))
    context.current().publish(stored)
    return {"reminded": len(stored)}


# hourly: each reader's reminder hour comes once a day in their own time zone
@broker.task(task_name="notifications.reminders", schedule=[{"cron": "0 * * * *"}])
async def reminders_task() -> dict[str, Any] | None:
    return await run_once("reminders", 3600, remind_readers)


@broker.task(task_name="maintenance.partitions", schedule=[{"cron": "7 * * * *"}])
async def partitions_task() -> dict[str, Any] | None:
    return await run_once("partitions", 3600, ensure_partitions)


@broker.task(task_name="maintenance.purge_expired", schedule=[{"cron": "17 * * * *"}])
async def purge_expired_task() -> dict[str, Any] | None:
    return await run_once("purge_expired", 3600, purge_expired)


@broker.task(task_name="maintenance.clean_old_data", schedule=[{"cron": "27 3 * * *"}])
async def clean_old_data_task() -> dict[str, Any] | None:
    return await run_once("clean_old_data", 86400, clean_old_data)


# every VIEWS_REFRESH_S, to the minute (cron's resolution; at most hourly)
_REFRESH_S = min(3600, max(60, Settings.from_env().views_refresh_s))
_REFRESH_CRON = f"*/{_REFRESH_S // 60} * * * *" if _REFRESH_S < 3600 else "0 * * * *"


@broker.task(task_name="maintenance.refresh_views", schedule=[{"cron": _REFRESH_CRON}])
async def refresh_views_task() -> dict[str, Any] | None:
    return await run_once("refresh_views", _REFRESH_S, refresh_views)


async def _sweep_books(pool: asyncpg.Pool) -> dict[str, int]:
    """Retry stalled books now. With Redis they go to the workers; without, there is no
    worker to hand them to, so they run here."""
    from workers.ingest import ingest_book, sweep_stalled

    if context.current().settings.uses_redis:
        return await sweep_stalled(pool)
    return await sweep_stalled(pool, ingest_book)


async def _reindex_all(pool: asyncpg.Pool) -> dict[str, Any]:
    from workers.reindex import reindex_stale

    return await reindex_stale(pool, limit=None)


async def _document_ids(pool: asyncpg.Pool) -> dict[str, int]:
    from workers.document_ids import fill_document_ids

    return await fill_document_ids(pool, limit=None)


async def _main(command: str) -> int:
    settings = Settings.from_env()
    await context.open_standalone(settings)
    try:
        pool = context.current().pool
        jobs: dict[str, Callable[[asyncpg.Pool], Awaitable[Any]]] = {
            "refresh-views": refresh_views,
            "partitions": ensure_partitions,
            "purge": purge_expired,
            "clean": clean_old_data,
            "close-sessions": close_idle_sessions,
            "reminders": remind_readers,
            "sweep-books": _sweep_books,
            "reindex": _reindex_all,
            "document-ids": _document_ids,
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
