"""The task broker: taskiq's in-process broker by default, Redis streams with REDIS_URL.

Redis streams (not a plain list) because a task a worker took and never acknowledged
(the worker crashed) is handed out again after `idle_timeout`, so no work is lost.
"""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker, TaskiqEvents, TaskiqState

from server.settings import Settings
from workers import context


def make_broker(settings: Settings) -> AsyncBroker:
    if settings.redis_url is None:
        # tasks run in the web process's loop; results are kept only briefly
        return InMemoryBroker(max_stored_results=1000, await_inplace=False)
    from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

    return RedisStreamBroker(
        url=settings.redis_url,
        queue_name=f"{settings.channel_prefix}:tasks",
        consumer_group_name=f"{settings.channel_prefix}:workers",
        idle_timeout=settings.task_redelivery_s * 1000,
        # without it a worker killed while holding the reclaim lock stops every other
        # worker from ever reclaiming (taskiq-redis issue #131)
        unacknowledged_lock_timeout=30,
    ).with_result_backend(
        RedisAsyncResultBackend(
            redis_url=settings.redis_url,
            result_ex_time=3600,
            prefix_str=f"{settings.channel_prefix}:results",
        )
    )


broker = make_broker(Settings.from_env())


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def _startup(_: TaskiqState) -> None:
    # the in-process broker fires this inside the web process, which bound its own pool
    if not context.is_bound():
        await context.open_standalone(Settings.from_env())


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def _shutdown(_: TaskiqState) -> None:
    await context.close_standalone()
