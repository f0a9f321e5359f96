"""Scheduled jobs run once per slot however many schedulers fire them."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from server.settings import Settings
from workers import context
from workers.maintenance import ensure_partitions, refresh_views, run_once
from workers.schedule import slot_for


def test_slot_is_the_start_of_its_period() -> None:
    assert slot_for(300, now=1_000_000_123.4) == "2001-09-09T01:45:00+00:00"
    assert slot_for(300, now=1_000_000_199.9) == slot_for(300, now=1_000_000_123.4)
    assert slot_for(300, now=1_000_000_200.0) != slot_for(300, now=1_000_000_199.9)


async def test_two_schedulers_firing_one_slot_run_the_job_once(pool: asyncpg.Pool) -> None:
    context.bind(Settings(), pool)
    calls: list[int] = []

    async def body(_: asyncpg.Pool) -> dict[str, Any]:
        calls.append(1)
        await asyncio.sleep(0.05)
        return {"n": len(calls)}

    results = await asyncio.gather(*(run_once("test-job", 3600, body) for _ in range(5)))
    assert len(calls) == 1
    assert sum(r is not None for r in results) == 1
    row = await pool.fetchrow("SELECT * FROM scheduled_runs WHERE job = 'test-job'")
    assert row is not None
    assert row["finished_at"] is not None
    assert row["result"] == {"n": 1}


async def test_maintenance_jobs_do_their_work(pool: asyncpg.Pool) -> None:
    await pool.execute("DROP TABLE IF EXISTS reading_sessions_2099_01")
    created = await ensure_partitions(pool)
    assert set(created) == {"reading_sessions", "ai_conversations"}
    assert await ensure_partitions(pool) == {"reading_sessions": 0, "ai_conversations": 0}
    timings = await refresh_views(pool)
    assert set(timings) == {"user_reading_stats", "book_popularity_stats", "daily_platform_metrics"}
