"""Book ingestion (ARCHITECTURE.md §4): parse the stored file into chapters, compute the
metadata, store it all in one transaction, and tell the uploader as it goes
(`book.processing`, then `book.ready` or `book.failed` with a readable reason).

Idempotent: re-running replaces the book's chapters. A worker that dies mid-book leaves
the book `processing`; the Redis stream hands the task out again, and the sweeper
(`books.sweep`) retries or fails any book left unfinished, so none stays stuck."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any
from uuid import UUID

from domain import events as ev
from domain.books import metadata
from domain.books.models import Failed, Processing
from domain.books.operations import Q, book_from_row, title_from_filename
from domain.books.parse import parse_book
from domain.books.parsed import ParsedBook, ParseError
from domain.events import Event, append_events, user_channel
from server import metrics
from workers import context
from workers.broker import broker
from workers.schedule import run_once

log = logging.getLogger(__name__)

PARSE_TIMEOUT_S = 300
MAX_ATTEMPTS = 3
STALLED_AFTER_S = 15 * 60


@broker.task(task_name="books.ingest")
async def ingest_task(book_id: str) -> None:
    await ingest_book(UUID(book_id))


async def ingest_book(book_id: UUID) -> str:
    """Ingest one book; return its final status ('completed', 'failed' or 'skipped')."""
    res = context.current()
    started = time.perf_counter()
    async with res.pool.acquire() as conn:
        row = await conn.fetchrow(Q.claim_for_ingest, book_id)
    if row is None:  # deleted, or finished by an earlier delivery of this task
        return "skipped"
    user = user_channel(row["user_id"])
    try:
        await _progress(user, book_id, "parsing", 10)
        data = await res.files.get(row["file_path"])
        parsed = await asyncio.wait_for(
            asyncio.to_thread(parse_book, data, row["file_type"]), PARSE_TIMEOUT_S
        )
        await _progress(user, book_id, "chunking", 60)
        await _store(book_id, row, parsed)
    except ParseError as exc:
        await fail(book_id, str(exc))
        return "failed"
    except TimeoutError:
        await fail(book_id, f"the book took longer than {PARSE_TIMEOUT_S} s to read")
        return "failed"
    except Exception as exc:
        log.exception("ingestion of %s failed", book_id)
        await fail(book_id, f"internal error while processing the book ({type(exc).__name__})")
        return "failed"
    metrics.INGEST_SECONDS.observe(time.perf_counter() - started)
    return "completed"


async def _progress(channel: str, book_id: UUID, stage: str, percent: int) -> None:
    res = context.current()
    async with res.pool.acquire() as conn, conn.transaction():
        stored = await append_events(
            conn, [Event(channel, ev.BOOK_PROCESSING, Processing(book_id, stage, percent))], None
        )
    res.publish(stored)


async def _store(book_id: UUID, row: Any, parsed: ParsedBook) -> None:
    res = context.current()
    text = parsed.text
    title_is_placeholder = row["title"] == title_from_filename(row["original_filename"])
    async with res.pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.replace_chapters_delete, book_id)
        await conn.executemany(
            Q.insert_chapter,
            [(book_id, c.number, c.title, c.text, c.start_page, c.end_page, c.start_offset,
              c.end_offset, c.word_count, len(c.text)) for c in parsed.chapters],
        )  # fmt: skip
        done = await conn.fetchrow(
            Q.finish_ingest, book_id, title_is_placeholder, parsed.title, parsed.author,
            parsed.page_count, parsed.word_count,
            metadata.reading_time_minutes(parsed.word_count), metadata.difficulty_level(text),
            None,
        )  # fmt: skip
        book = book_from_row(done)
        stored = await append_events(
            conn, [Event(user_channel(book.user_id), ev.BOOK_READY, book)], None
        )
    res.publish(stored)


async def fail(book_id: UUID, reason: str) -> None:
    res = context.current()
    metrics.INGEST_FAILURES.inc()
    async with res.pool.acquire() as conn, conn.transaction():
        user_id = await conn.fetchval(Q.fail_ingest, book_id, reason[:1000])
        if user_id is None:
            return
        stored = await append_events(
            conn, [Event(user_channel(user_id), ev.BOOK_FAILED, Failed(book_id, reason))], None
        )
    res.publish(stored)


async def sweep_stalled(pool: Any) -> dict[str, int]:
    """Books left pending or processing (their worker died, or the task was lost with an
    in-process broker): queue them again, or fail them after MAX_ATTEMPTS."""
    rows = await pool.fetch(Q.stalled_books, float(STALLED_AFTER_S))
    retried = failed = 0
    for r in rows:
        if r["processing_attempts"] >= MAX_ATTEMPTS:
            await fail(r["id"], f"gave up after {MAX_ATTEMPTS} attempts to process the book")
            failed += 1
        else:
            await ingest_task.kiq(str(r["id"]))
            retried += 1
    return {"retried": retried, "failed": failed}


@broker.task(task_name="books.sweep", schedule=[{"cron": "*/5 * * * *"}])
async def sweep_task() -> dict[str, Any] | None:
    return await run_once("books.sweep", 300, sweep_stalled)
