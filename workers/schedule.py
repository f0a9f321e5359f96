"""Run each scheduled job once per time slot, however many schedulers fire it.

Two schedulers (two `make run`, or a scheduler restarted mid-minute) may both send the
same tick; the job's first act is to claim the slot in PostgreSQL, and only the claimant
runs it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

log = logging.getLogger(__name__)


def slot_for(period_s: int, now: float | None = None) -> str:
    """The start of the `period_s`-long slot holding `now`, as an ISO timestamp."""
    t = time.time() if now is None else now
    start = int(t // period_s) * period_s
    return datetime.fromtimestamp(start, UTC).isoformat()


async def claim_slot(pool: asyncpg.Pool, job: str, period_s: int) -> str | None:
    """The slot claimed for `job`, or None when another scheduler's run has it."""
    slot = slot_for(period_s)
    won = await pool.fetchval(
        "INSERT INTO scheduled_runs (job, slot) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING true",
        job,
        slot,
    )
    return slot if won else None


async def finish_slot(pool: asyncpg.Pool, job: str, slot: str, result: dict[str, Any]) -> None:
    await pool.execute(
        "UPDATE scheduled_runs SET finished_at = now(), result = $3 WHERE job = $1 AND slot = $2",
        job,
        slot,
        result,
    )


async def run_once(
    job: str, period_s: int, body: Callable[[asyncpg.Pool], Awaitable[dict[str, Any]]]
) -> dict[str, Any] | None:
    from workers import context

    pool = context.current().pool
    slot = await claim_slot(pool, job, period_s)
    if slot is None:
        log.info("scheduled job already ran for this slot", extra={"job": job})
        return None
    result = await body(pool)
    await finish_slot(pool, job, slot, result)
    log.info("scheduled job done", extra={"job": job, "slot": slot, "result": result})
    return result
