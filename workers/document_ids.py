"""KOReader's document id (`books.partial_md5`, issue 16) for the books stored before it
was computed at upload: each file read once, a few at a time, by the schedule's
`books.reindex` run and by `python -m workers.maintenance document-ids`."""

from __future__ import annotations

import asyncio
import logging

import asyncpg

from domain.books.fingerprint import partial_md5
from domain.books.operations import Q
from workers import context

log = logging.getLogger(__name__)
RUN_BOOKS = 200
BATCH = 20


async def fill_document_ids(pool: asyncpg.Pool, limit: int | None = RUN_BOOKS) -> dict[str, int]:
    files = context.current().files
    filled = 0
    while limit is None or filled < limit:
        batch = BATCH if limit is None else min(BATCH, limit - filled)
        rows = await pool.fetch(Q.books_without_document_id, batch)
        if not rows:
            break
        for row in rows:
            try:
                digest = await asyncio.to_thread(partial_md5, await files.get(row["file_path"]))
            except FileNotFoundError:
                log.warning("no file for book %s: no KOReader id", row["id"])
                digest = ""  # asked once: a book without its file cannot be matched anyway
            await pool.execute(Q.set_document_id, row["id"], digest)
            filled += 1
    return {"filled": filled}
