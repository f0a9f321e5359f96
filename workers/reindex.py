"""Re-indexing (issue 14): a change to chunking or embedding (INDEX_VERSION in
domain/books/chunk.py) reaches the books already stored. Each book indexed under an older
version gets its passages and windows rebuilt from its stored chapters -- the text and
its offsets do not change, so highlights and positions stay where they are -- and
swapped in one transaction: the book is searchable throughout, on the old index until
the new one replaces it.

One book at a time, each committed on its own, so a run that stops (a deploy, a crash)
loses at most the book in hand and the next run goes on from there. The schedule runs it
every ten minutes for at most RUN_BOOKS books; `python -m workers.maintenance reindex`
runs it by hand until nothing is stale. The same run builds the BM25 postings (migration
0034) of books whose passages have none: written by a worker of the previous release
while the new one migrated."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

import asyncpg

from domain.books.chunk import INDEX_VERSION
from domain.books.operations import Q
from domain.books.parsed import Chapter
from workers import context, indexing
from workers.broker import broker
from workers.document_ids import fill_document_ids
from workers.schedule import run_once

log = logging.getLogger(__name__)

RUN_BOOKS = 20
# one re-indexer at a time across every worker: two would embed the same book twice
LOCK_KEY = 0x726569_6E646578  # "reindex"


async def reindex_stale(pool: asyncpg.Pool, limit: int | None = RUN_BOOKS) -> dict[str, Any]:
    """Re-index up to `limit` stale books (all of them with None), then build the missing
    postings of up to ten times as many."""
    done: list[UUID] = []
    failed: list[UUID] = []
    async with pool.acquire() as lock:
        if not await lock.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return {"reindexed": 0, "skipped": "another run is re-indexing"}
        try:
            while limit is None or len(done) < limit:
                book_id = await pool.fetchval(Q.next_stale_book, INDEX_VERSION, failed)
                if book_id is None:
                    break
                try:
                    if await reindex_book(pool, book_id):
                        done.append(book_id)
                except Exception:  # this book again next run; the others go on now
                    log.exception("re-indexing %s failed", book_id)
                    failed.append(book_id)
            postings = await _store_missing_terms(pool, None if limit is None else 10 * limit)
        finally:
            await lock.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    left = await pool.fetchval(Q.count_stale_books, INDEX_VERSION)
    return {"reindexed": len(done), "failed": len(failed), "stale": left, "postings": postings}


async def reindex_book(pool: asyncpg.Pool, book_id: UUID) -> bool:
    """Rebuild one book's index; False when it no longer needs it (re-ingested, deleted
    or re-indexed meanwhile)."""
    res = context.current()
    rows = await pool.fetch(Q.index_chapters, book_id)
    chapters = [
        Chapter(r["chapter_number"], r["title"] or "", r["content"], r["start_offset"],
                r["end_offset"], r["start_page"], r["end_page"])
        for r in rows
    ]  # fmt: skip
    index = await indexing.build(chapters, res.embedder, _quiet)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.lock_book, book_id)
        if not await conn.fetchval(Q.still_stale, book_id, INDEX_VERSION):
            return False
        await conn.execute(Q.delete_passages, book_id)  # windows go with them
        chapter_ids = {r["chapter_number"]: r["id"] for r in rows}
        await indexing.store(conn, book_id, chapter_ids, index, res.embedder.model_name)
        await conn.execute(Q.set_index_version, book_id, INDEX_VERSION)
    log.info("re-indexed", extra={"book": str(book_id), "passages": len(index.passages)})
    return True


async def _quiet(_done: float) -> None:
    return None


async def _store_missing_terms(pool: asyncpg.Pool, limit: int | None) -> int:
    """Build the postings of books whose passages have none (Q.next_book_without_terms):
    until then BM25 cannot find them. About a quarter of a second per novel."""
    built = 0
    while limit is None or built < limit:
        book_id = await pool.fetchval(Q.next_book_without_terms)
        if book_id is None:
            break
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(Q.lock_book, book_id)  # against a re-index swapping passages
            await conn.execute(Q.store_terms, book_id)
        built += 1
    return built


async def _keep_books_current(pool: asyncpg.Pool) -> dict[str, Any]:
    """What is derived from stored books and may lag a release: the search index and its
    postings, and KOReader's document ids (workers/document_ids.py)."""
    return {**await reindex_stale(pool), **await fill_document_ids(pool)}


@broker.task(task_name="books.reindex", schedule=[{"cron": "3-59/10 * * * *"}])
async def reindex_task() -> dict[str, Any] | None:
    return await run_once("books.reindex", 600, _keep_books_current)
