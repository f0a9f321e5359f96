"""What task bodies need (settings, the database pool, file storage, a way to publish
committed events), wherever they run.

A `taskiq worker` process opens its own at start-up; with the in-process broker the web
process binds the ones it already has (its hub publishes)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from domain.events import StoredEvent
from domain.ports import Embedder, FileStore
from server.db import create_pool
from server.embeddings import make_embedder
from server.settings import Settings
from server.storage import make_storage

Publish = Callable[[list[StoredEvent]], None]
# an ephemeral signal: (channel, event, data), never stored
Announce = Callable[[str, str, Any], None]


def _silent(_channel: str, _event: str, _data: Any) -> None:
    return None


@dataclass
class WorkerResources:
    settings: Settings
    pool: asyncpg.Pool
    files: FileStore
    publish: Publish
    embedder: Embedder
    owned: bool = False
    fanout: Any = None
    announce: Announce = _silent


_current: WorkerResources | None = None


def bind(
    settings: Settings,
    pool: asyncpg.Pool,
    files: FileStore,
    publish: Publish,
    announce: Announce = _silent,
) -> None:
    global _current
    _current = WorkerResources(
        settings, pool, files, publish, make_embedder(settings), announce=announce
    )


def is_bound() -> bool:
    return _current is not None


def current() -> WorkerResources:
    if _current is None:
        raise RuntimeError("worker resources are not open: no worker start-up or bind() ran")
    return _current


async def open_standalone(settings: Settings) -> None:
    """A worker process: its own pool, storage, and a publish-only fan-out to Redis (web
    processes that miss a publish still find the events through their reconcile)."""
    global _current
    if settings.database_url is None:
        raise RuntimeError("a taskiq worker process needs DATABASE_URL")
    from server.context import make_fanout_backend
    from server.hub import frames
    from server.hub.fanout import Fanout

    pool = await create_pool(settings.database_url, min_size=1, max_size=settings.db_pool_max)
    fanout = Fanout(
        make_fanout_backend(settings),
        prefix=settings.channel_prefix,
        deliver=lambda _channel, _payload: None,
        on_reconnect=_nothing,
    )
    await fanout.start()

    def publish(events: list[StoredEvent]) -> None:
        for e in events:
            fanout.publish(e.channel, frames.wire(e.seq, frames.event_frame(e)))

    def announce(channel: str, event: str, data: Any) -> None:
        fanout.publish(channel, frames.wire(0, frames.ephemeral_frame(channel, event, data)))

    _current = WorkerResources(
        settings,
        pool,
        make_storage(settings),
        publish,
        make_embedder(settings),
        True,
        fanout,
        announce,
    )


async def _nothing() -> None:
    return None


async def close_standalone() -> None:
    global _current
    if _current is not None and _current.owned:
        if _current.fanout is not None:
            await _current.fanout.stop()
        await _current.pool.close()
    _current = None
