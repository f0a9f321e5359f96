"""The embedded scheduler: with no Redis there is no scheduler process, so the web process
runs one loop that fires the same cron labels the taskiq scheduler reads."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pycron
from taskiq import AsyncBroker

log = logging.getLogger(__name__)


def due_tasks(broker: AsyncBroker, now: datetime) -> list[str]:
    names = []
    for name, task in broker.get_all_tasks().items():
        for entry in task.labels.get("schedule", []):
            cron = entry.get("cron")
            if cron and pycron.is_now(cron, now):
                names.append(name)
                break
    return names


async def run_schedule(broker: AsyncBroker) -> None:
    """Each minute, send the tasks due in it; runs until cancelled."""
    while True:
        now = datetime.now(UTC)
        await asyncio.sleep(60 - now.second - now.microsecond / 1e6 + 0.05)
        tick = datetime.now(UTC).replace(second=0, microsecond=0)
        for name in due_tasks(broker, tick):
            task = broker.find_task(name)
            if task is None:
                continue
            try:
                await task.kiq()
            except Exception:  # one job's failure to send must not stop the loop
                log.exception("could not send scheduled task %s", name)
