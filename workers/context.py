"""What task bodies need (settings, the database pool), wherever they run.

A `taskiq worker` process opens its own at start-up; with the in-process broker the web
process binds the ones it already has."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from server.db import create_pool
from server.settings import Settings


@dataclass
class WorkerResources:
    settings: Settings
    pool: asyncpg.Pool
    owned: bool = False


_current: WorkerResources | None = None


def bind(settings: Settings, pool: asyncpg.Pool) -> None:
    global _current
    _current = WorkerResources(settings, pool)


def is_bound() -> bool:
    return _current is not None


def current() -> WorkerResources:
    if _current is None:
        raise RuntimeError("worker resources are not open: no worker start-up or bind() ran")
    return _current


async def open_standalone(settings: Settings) -> None:
    global _current
    if settings.database_url is None:
        raise RuntimeError("a taskiq worker process needs DATABASE_URL")
    pool = await create_pool(settings.database_url, min_size=1, max_size=settings.db_pool_max)
    _current = WorkerResources(settings, pool, owned=True)


async def close_standalone() -> None:
    global _current
    if _current is not None and _current.owned:
        await _current.pool.close()
    _current = None
