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
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from domain import events as ev
from domain.anchoring.reanchor import reanchor
from domain.books import keywords, metadata
from domain.books.chunk import INDEX_VERSION
from domain.books.cover import thumbnail
from domain.books.models import Book, Failed, Processing
from domain.books.operations import Q, book_from_row, cover_key, title_from_filename
from domain.books.parsed import ParsedBook, ParseError
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.kosync import operations as kosync
from server import metrics
from workers import context, indexing
from workers.broker import broker
from workers.parse_process import ParseTimeout, parse_in_child
from workers.schedule import run_once

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3


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
        if await _reuse(book_id, row):
            metrics.INGEST_SECONDS.observe(time.perf_counter() - started)
            await _enrich_later(book_id)
            return "completed"
        await _progress(user, book_id, "parsing", 10)
        data = await res.files.get(row["file_path"])
        parsed = await parse_in_child(data, row["file_type"], res.settings.parse_timeout_s)
        await _progress(user, book_id, "chunking", 40)
        index = await _embed(user, book_id, parsed)
        await _progress(user, book_id, "indexing", 95)
        terms = await asyncio.to_thread(_keywords, parsed, index.vectors)
        # ~70 ms of Python over a long novel: off the loop, which answers every socket
        difficulty = await asyncio.to_thread(metadata.difficulty_level, parsed.text)
        await _store(book_id, row, parsed, index, terms, difficulty)
    except ParseError as exc:
        await fail(book_id, str(exc))
        return "failed"
    except ParseTimeout:
        await fail(book_id, f"the book took longer than {res.settings.parse_timeout_s:g} s to read")
        return "failed"
    except Exception as exc:
        log.exception("ingestion of %s failed", book_id)
        await fail(book_id, f"internal error while processing the book ({type(exc).__name__})")
        return "failed"
    metrics.INGEST_SECONDS.observe(time.perf_counter() - started)
    await _enrich_later(book_id)
    return "completed"


async def _enrich_later(book_id: UUID) -> None:
    """Summaries come after `book.ready`: the reader need not wait for them."""
    from workers.enrich import summarize_task

    try:
        await summarize_task.kiq(str(book_id))
    except Exception:  # the book is ready either way; the summaries can be made again
        log.exception("could not queue the summaries of %s", book_id)


async def _progress(channel: str, book_id: UUID, stage: str, percent: int) -> None:
    res = context.current()
    async with res.pool.acquire() as conn, conn.transaction():
        stored = await append_events(
            conn, [Event(channel, ev.BOOK_PROCESSING, Processing(book_id, stage, percent))], None
        )
    res.publish(stored)


async def _embed(channel: str, book_id: UUID, parsed: ParsedBook) -> indexing.Index:
    """The search index, reporting progress between embedding batches."""
    await _progress(channel, book_id, "embedding", 50)

    async def progress(done: float) -> None:
        await _progress(channel, book_id, "embedding", 50 + int(45 * done))

    return await indexing.build(parsed.chapters, context.current().embedder, progress)


def _keywords(parsed: ParsedBook, vectors: list[list[float]]) -> tuple[list[str], list[str]]:
    """(topics, key concepts)."""
    ranked = keywords.candidates([c.text for c in parsed.chapters])
    embed = context.current().embedder.embed
    return keywords.topics(ranked, keywords.centroid(vectors), embed), keywords.key_concepts(ranked)


async def _store(
    book_id: UUID,
    row: Any,
    parsed: ParsedBook,
    index: indexing.Index,
    terms: tuple[list[str], list[str]],
    difficulty: int | None,
) -> None:
    """Chapters, passages and the finished book in one transaction: readers see the old
    state or the whole new one, never half."""
    res = context.current()
    title_is_placeholder = row["title"] == title_from_filename(row["original_filename"])
    chapters = parsed.chapters
    async with res.pool.acquire() as conn, conn.transaction():
        # a redelivered task may be storing the same book: the second waits, then replaces
        await conn.execute(Q.lock_book, book_id)
        await conn.execute(Q.replace_chapters_delete, book_id)  # passages go with them
        made = await conn.fetch(
            Q.insert_chapters, book_id, [c.number for c in chapters], [c.title for c in chapters],
            [c.text for c in chapters], [c.start_page for c in chapters],
            [c.end_page for c in chapters], [c.start_offset for c in chapters],
            [c.end_offset for c in chapters], [c.word_count for c in chapters],
            [len(c.text) for c in chapters], [c.source_index for c in chapters],
        )  # fmt: skip
        chapter_ids = {r["chapter_number"]: r["id"] for r in made}
        cover_url = await _store_cover(book_id, parsed)
        await indexing.store(conn, book_id, chapter_ids, index, res.embedder.model_name)
        await conn.execute(Q.store_facts, book_id, parsed.facts.columns())
        done = await conn.fetchrow(
            Q.finish_ingest, book_id, title_is_placeholder, parsed.title, parsed.author,
            parsed.page_count, parsed.word_count,
            metadata.reading_time_minutes(parsed.word_count), difficulty,
            cover_url, *terms, parsed.warnings, INDEX_VERSION,
        )  # fmt: skip
        stored = await _ready(conn, book_from_row(done))
    res.publish(stored)


async def _ready(conn: Any, book: Book) -> list[StoredEvent]:
    """`book.ready` for the uploader; the marks readers made on an earlier text of the
    book, re-placed in this one (domain/anchoring/reanchor.py); and the position a
    KOReader device of theirs reported on this file before it was uploaded (kosync),
    now the book's."""
    stored = await append_events(
        conn, [Event(user_channel(book.user_id), ev.BOOK_READY, book)], None
    )
    moved, counts = await reanchor(conn, book.id)
    if counts:
        log.info("marks re-anchored", extra={"book": str(book.id), **counts})
    linked = await kosync.link_book(conn, context.current().files, book.id)
    return stored + moved + (linked.events if linked else [])


async def _reuse(book_id: UUID, row: Any) -> bool:
    """The same file was ingested before: copy its chapters, passages and vectors in SQL
    instead of parsing and embedding again (docs/benchmarks.md measures the gain)."""
    res = context.current()
    async with res.pool.acquire() as conn:
        source = await conn.fetchrow(Q.reuse_source, row["file_sha256"], book_id, INDEX_VERSION)
    if source is None:
        return False
    cover_url = None
    if source["cover_image_url"]:
        try:
            image = await res.files.get(cover_key(source["id"]))
            await res.files.put(cover_key(book_id), image, "image/jpeg")
            cover_url = f"/api/v1/books/{book_id}/cover"
        except FileNotFoundError:
            cover_url = None
    placeholder = row["title"] == title_from_filename(row["original_filename"])
    async with res.pool.acquire() as conn, conn.transaction():
        await conn.execute(Q.lock_book, book_id)
        await conn.execute(Q.replace_chapters_delete, book_id)
        await conn.execute(Q.copy_chapters, book_id, source["id"])
        await conn.execute(Q.copy_passages, book_id, source["id"])
        await conn.execute(Q.copy_windows, book_id, source["id"])
        await conn.execute(Q.store_terms, book_id)
        await conn.execute(Q.store_facts, book_id, source["file_facts"])
        done = await conn.fetchrow(
            Q.finish_ingest, book_id, placeholder, source["file_title"], source["file_author"],
            source["page_count"], source["word_count"], source["reading_time_minutes"],
            source["difficulty_level"], cover_url, source["topics"], source["key_concepts"], [],
            INDEX_VERSION,
        )  # fmt: skip
        # the overview derives from the file alone, like the chapters' summaries: made once
        await conn.execute(
            "UPDATE books SET ai_summary = $2 WHERE id = $1", book_id, source["ai_summary"]
        )
        stored = await _ready(conn, book_from_row(done))
    res.publish(stored)
    log.info("ingestion reused an identical file", extra={"book": str(book_id),
                                                          "source": str(source["id"])})  # fmt: skip
    return True


async def _store_cover(book_id: UUID, parsed: ParsedBook) -> str | None:
    image = parsed.cover_image
    small = await asyncio.to_thread(thumbnail, image) if image else None
    if small is None:
        return None
    await context.current().files.put(cover_key(book_id), small, "image/jpeg")
    return f"/api/v1/books/{book_id}/cover"


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


async def sweep_stalled(
    pool: Any, retry: Callable[[UUID], Awaitable[Any]] | None = None
) -> dict[str, int]:
    """Books left pending or processing (their worker died, or the task was lost with an
    in-process broker): queue them again (or run them with `retry`), or fail them after
    MAX_ATTEMPTS."""
    after = context.current().settings.ingest_stalled_after_s
    rows = await pool.fetch(Q.stalled_books, float(after))
    retried = failed = 0
    for r in rows:
        if r["processing_attempts"] >= MAX_ATTEMPTS:
            await fail(r["id"], f"gave up after {MAX_ATTEMPTS} attempts to process the book")
            failed += 1
        else:
            await (retry(r["id"]) if retry else ingest_task.kiq(str(r["id"])))
            retried += 1
    return {"retried": retried, "failed": failed}


@broker.task(task_name="books.sweep", schedule=[{"cron": "*/5 * * * *"}])
async def sweep_task() -> dict[str, Any] | None:
    return await run_once("books.sweep", 300, sweep_stalled)
