"""GET /admin/health: the operator's view; PUT /admin/users/{id}/subscription: a tier
set by hand (administrators only)."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from litestar import get, put

from domain.accounts import billing
from domain.accounts.models import User
from domain.ops.health import check_admin, database_report
from handlers.deps import PooledConn
from server.context import AppContext


@get("/admin/health", tags=["admin"])
async def admin_health(ctx: AppContext, conn: PooledConn, user_id: UUID) -> dict[str, Any]:
    await check_admin(conn, user_id)
    return {
        "database": await database_report(conn),
        "redis": await _redis(ctx),
        "broker": _broker(ctx),
        "realtime": {
            "connections": len(ctx.hub.connections),
            "channels": len(ctx.hub.channels),
            "fanout_restarts": ctx.hub.fanout.restarts if ctx.hub.fanout else None,
        },
        "pool": {
            "size": ctx.pool.get_size(),
            "idle": ctx.pool.get_idle_size(),
            "max": ctx.pool.get_max_size(),
        },
    }


@put("/admin/users/{reader:uuid}/subscription", tags=["admin"])
async def set_subscription(
    reader: UUID, data: billing.SubscriptionSet, ctx: AppContext, conn: PooledConn, user_id: UUID
) -> User:
    """A refund, a gift, a support case: the tier and its end (null: never). The reader's
    open devices get `quota.updated`."""
    await check_admin(conn, user_id)
    written = await billing.set_subscription(conn, reader, data)
    ctx.hub.publish(written.events)
    return written.value


async def _redis(ctx: AppContext) -> dict[str, Any]:
    if ctx.redis is None:
        return {"status": "not used (in-process channels and broker)"}
    try:
        started = time.perf_counter()
        async with asyncio.timeout(2):
            await ctx.redis.ping()
            info = await ctx.redis.info("memory")
        rtt_ms = round((time.perf_counter() - started) * 1000, 2)
        return {
            "status": "ok",
            "round_trip_ms": rtt_ms,
            "used_memory_bytes": info.get("used_memory"),
        }
    except Exception as exc:  # the report says what is wrong rather than failing
        return {"status": f"error: {type(exc).__name__}"}


def _broker(ctx: AppContext) -> dict[str, Any]:
    kind = (
        "taskiq-redis stream" if ctx.settings.uses_redis else "in-process (taskiq InMemoryBroker)"
    )
    return {"kind": kind}
