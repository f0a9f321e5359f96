"""What one web process holds: settings, the database pool, tokens, Redis.

Built at start-up (lifespan) and handed to handlers through dependency injection."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend

from domain.ports import Answerer, Embedder, Mailer
from domain.reading import annotations as annotation_ops
from domain.reading import bookmarks, changes, highlights, progress, sessions
from domain.reading.annotations import NewAnnotation
from domain.reading.bookmarks import AutoMove, NewBookmark
from domain.reading.changes import Change
from domain.reading.highlights import NewHighlight
from domain.reading.models import (
    Annotation,
    Bookmark,
    Highlight,
    Progress,
    ReadingSession,
)
from domain.reading.progress import ProgressWrite
from domain.reading.sessions import Ending, NewSession
from domain.writes import Written
from server import embedded, metrics
from server.activity import Activity
from server.answerers import make_answerer
from server.auth import Tokens
from server.book_stats import BookStatsAnnouncer
from server.db import create_pool
from server.embeddings import make_embedder
from server.group_commit import GroupCommit
from server.hub.fanout import Fanout
from server.hub.feed import FeedRouter
from server.hub.hub import Hub
from server.live_answers import LiveAnswers
from server.mail import make_mailer
from server.migrate import migrate
from server.schedule_loop import run_schedule
from server.settings import Settings
from server.storage import Storage, make_storage
from workers import context as worker_context
from workers import tasks as _tasks  # noqa: F401 - registers every task with the broker
from workers.broker import broker

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    tokens: Tokens
    mailer: Mailer
    pool: asyncpg.Pool = field(init=False)
    redis: aioredis.Redis | None = None
    hub: Hub = field(init=False)
    files: Storage = field(init=False)
    embedder: Embedder = field(init=False)
    answerer: Answerer = field(init=False)
    live_answers: LiveAnswers = field(init=False)
    feed: FeedRouter = field(init=False)
    activity: Activity = field(init=False)
    highlight_creates: GroupCommit[NewHighlight, Written[Highlight]] = field(init=False)
    changes: GroupCommit[Change, Written[Any]] = field(init=False)
    progress_updates: GroupCommit[ProgressWrite, Written[Progress]] = field(init=False)
    bookmark_creates: GroupCommit[NewBookmark, Written[Bookmark]] = field(init=False)
    auto_bookmarks: GroupCommit[AutoMove, Written[Bookmark]] = field(init=False)
    annotation_creates: GroupCommit[NewAnnotation, Written[Annotation]] = field(init=False)
    session_starts: GroupCommit[NewSession, Written[ReadingSession]] = field(init=False)
    session_ends: GroupCommit[Ending, Written[ReadingSession]] = field(init=False)
    book_stats: BookStatsAnnouncer = field(init=False)
    _embedded_handle: Any = None

    async def check_ready(self) -> dict[str, str]:
        """Each dependency's state; all 'ok' means ready."""
        status = {"database": "ok", "broker": "ok"}
        try:
            async with asyncio.timeout(2):
                await self.pool.fetchval("SELECT 1")
        except Exception as exc:  # any failure means not ready; say which
            status["database"] = f"error: {type(exc).__name__}"
        if self.redis is not None:
            try:
                async with asyncio.timeout(2):
                    await self.redis.ping()
            except Exception as exc:
                status["broker"] = f"error: {type(exc).__name__}"
        return status


def make_fanout_backend(settings: Settings) -> Callable[[], ChannelsBackend]:
    """Redis pub/sub between processes when REDIS_URL is set, else the memory backend."""
    url = settings.redis_url

    def backend() -> ChannelsBackend:
        if url is None:
            return MemoryChannelsBackend()
        # a fresh client each time: a restarted listener must not reuse a dead connection
        return RedisChannelsPubSubBackend(redis=aioredis.from_url(url))

    return backend


def make_fanout(settings: Settings, hub: Hub) -> Fanout:
    return Fanout(make_fanout_backend(settings), prefix=settings.channel_prefix,
                  deliver=hub.deliver,
                  on_reconnect=functools.partial(hub.reconcile, settled=True))  # fmt: skip


def build_context(settings: Settings) -> AppContext:
    secret = settings.jwt_secret
    if secret is None:
        if not settings.embedded_database:
            log.warning("JWT_SECRET is not set: using a secret kept in %s", settings.data_dir)
        secret = embedded.jwt_secret(settings.data_dir)
    return AppContext(settings=settings, tokens=Tokens(secret, settings.access_token_ttl_s),
                      mailer=make_mailer(settings))  # fmt: skip


@asynccontextmanager
async def running(ctx: AppContext) -> AsyncIterator[AppContext]:
    """Open the pool (and the embedded database when no DATABASE_URL is set)."""
    settings = ctx.settings
    url: str | None = settings.database_url
    if url is None:
        url, ctx._embedded_handle = await asyncio.to_thread(
            embedded.embedded_database_url, settings.data_dir
        )
        assert url is not None
        await migrate(url)
    ctx.pool = await create_pool(url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    ctx.files = make_storage(settings)
    ctx.embedder = make_embedder(settings)
    ctx.answerer = make_answerer(settings, ctx.embedder)
    metrics.DB_POOL_SIZE.set_function(ctx.pool.get_size)
    metrics.DB_POOL_IN_USE.set_function(lambda: ctx.pool.get_size() - ctx.pool.get_idle_size())
    if settings.redis_url:
        ctx.redis = aioredis.from_url(settings.redis_url)
    ctx.hub = Hub(ctx.pool, presence_max=settings.presence_max_subscribers,
                  max_sockets_per_user=settings.ws_max_sockets_per_user)  # fmt: skip
    await ctx.hub.start(lambda hub: make_fanout(settings, hub))
    ctx.live_answers = LiveAnswers(ctx.hub, ctx.pool, ctx.answerer)
    ctx.feed = FeedRouter(ctx.hub, ctx.pool)
    ctx.activity = Activity(ctx.pool, settings.activity_flush_s)
    ctx.activity.start()
    ctx.highlight_creates = GroupCommit(ctx.pool, highlights.create_many)
    ctx.changes = GroupCommit(ctx.pool, changes.change_many)
    ctx.progress_updates = GroupCommit(ctx.pool, progress.update_many)
    ctx.bookmark_creates = GroupCommit(ctx.pool, bookmarks.create_many)
    ctx.auto_bookmarks = GroupCommit(ctx.pool, bookmarks.set_auto_many)
    ctx.annotation_creates = GroupCommit(ctx.pool, annotation_ops.create_many)
    ctx.session_starts = GroupCommit(ctx.pool, sessions.start_many)
    ctx.session_ends = GroupCommit(ctx.pool, sessions.end_many)
    ctx.book_stats = BookStatsAnnouncer(ctx.pool, ctx.hub.publish)
    ctx.hub.observers.append(ctx.book_stats.observe)
    worker_context.bind(settings, ctx.pool, ctx.files, ctx.hub.publish, ctx.hub.publish_ephemeral)
    await broker.startup()
    # with Redis, the Procfile's scheduler process fires scheduled jobs; without, we do
    schedule = None if settings.uses_redis else asyncio.create_task(run_schedule(broker))
    try:
        # What start-up built lives as long as the process: out of the collector's
        # sight. And collect less often: with the SDKs and Pillow loaded, the heap is
        # large and each collection paused the loop long enough to double fan-out p99
        # at 10 events/s (62-113 ms -> 45 ms, docs/benchmarks.md). Reference counting
        # frees almost everything; only cycles wait for the collector.
        gc.freeze()
        gc.set_threshold(100_000, 50, 100)
        yield ctx
    finally:
        if schedule is not None:
            schedule.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await schedule
        await broker.shutdown()
        await ctx.activity.stop()
        for group in (ctx.highlight_creates, ctx.changes, ctx.progress_updates,
                      ctx.bookmark_creates, ctx.auto_bookmarks, ctx.annotation_creates,
                      ctx.session_starts, ctx.session_ends):  # fmt: skip
            await group.close()
        await ctx.book_stats.close()
        await ctx.hub.stop()
        if ctx.redis is not None:
            await ctx.redis.aclose()
        await ctx.pool.close()
        if ctx._embedded_handle is not None:
            ctx._embedded_handle.cleanup()
