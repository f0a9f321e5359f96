"""`last_active_at`, debounced: requests and socket frames only note the reader in
memory; every ACTIVITY_FLUSH_S one statement writes everyone seen since. A busy reader
costs one row update a minute, not one per request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from uuid import UUID

from domain.accounts import operations as accounts
from domain.sql import Connections

log = logging.getLogger(__name__)


class Activity:
    def __init__(self, db: Connections, flush_every_s: float) -> None:
        self._db = db
        self._every_s = flush_every_s
        self._seen: dict[UUID, datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def seen(self, user_id: UUID) -> None:
        self._seen[user_id] = datetime.now(UTC)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="activity-flush")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        seen, self._seen = self._seen, {}
        if not seen:
            return
        try:
            async with self._db.acquire() as conn:
                await accounts.record_activity(conn, seen)
        except Exception:
            log.exception("could not record activity of %d readers", len(seen))
            for user_id, at in seen.items():  # tried again at the next flush
                self._seen.setdefault(user_id, at)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            await self.flush()
