"""The operator's view of the database (`GET /admin/health`): round trip, connections,
slowest statements (when pg_stat_statements is installed), table and index sizes,
index usage, analytics views' freshness."""

from __future__ import annotations

import time
from typing import Any
from uuid import UUID

from domain.errors import Forbidden
from domain.sql import Conn, load_queries

Q = load_queries(__file__)


async def check_admin(conn: Conn, user_id: UUID) -> None:
    if not await conn.fetchval(Q.is_admin, user_id):
        raise Forbidden("administrators only")


async def database_report(conn: Conn) -> dict[str, Any]:
    started = time.perf_counter()
    await conn.fetchval("SELECT 1")
    rtt_ms = round((time.perf_counter() - started) * 1000, 2)
    report: dict[str, Any] = {
        "status": "ok",
        "round_trip_ms": rtt_ms,
        "connections": dict(await conn.fetchrow(Q.connections) or {}),
    }
    if await conn.fetchval(Q.has_pg_stat_statements):
        report["slowest_statements"] = [dict(r) for r in await conn.fetch(Q.slowest_statements)]
    else:
        report["slowest_statements"] = None
        report["slowest_statements_note"] = (
            "pg_stat_statements is not installed in this database: add it to "
            "shared_preload_libraries and CREATE EXTENSION pg_stat_statements to see them"
        )
    report["tables"] = [dict(r) for r in await conn.fetch(Q.table_sizes)]
    report["least_used_indexes"] = [dict(r) for r in await conn.fetch(Q.index_usage)]
    fresh = await conn.fetchrow(Q.view_freshness)
    report["views"] = {
        "refreshed_at": fresh["refreshed_at"] if fresh else None,
        "age_s": fresh["age_s"] if fresh else None,
    }
    return report
