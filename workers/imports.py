"""Running an import (domain/imports/operations.py says what it does): entries placed in
the book's text in batches, each batch's highlights written in one group commit, its
events published, and `import.progress` on the reader's channel; then the report and
`import.finished`. A crash leaves the import `running`: the sweep sends it again (every
write is idempotent by its derived id) and fails it after MAX_ATTEMPTS."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from typing import Any
from uuid import UUID

from domain import events as ev
from domain.anchoring import text as anchor_text
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.imports import operations as imports
from domain.imports.formats import Entry
from domain.imports.models import EntryStatus, ImportJob, ImportLine, ImportProgress
from domain.imports.operations import Placed
from domain.reading import annotations as notes
from domain.reading import bookmarks, highlights
from domain.reading.models import AnnotationCreate, BookmarkCreate, HighlightCreate
from domain.sql import Conn
from workers import context
from workers.broker import broker

log = logging.getLogger(__name__)
BATCH = 50
MAX_ATTEMPTS = 3
STALLED_AFTER_S = 600


@broker.task(task_name="imports.run")
async def import_task(import_id: str) -> None:
    await run_import(UUID(import_id))


async def run_import(import_id: UUID) -> str:
    """Run one import; its final status ('completed', 'failed'), or 'skipped'."""
    res = context.current()
    async with res.pool.acquire() as conn:
        row = await conn.fetchrow(imports.Q.claim_import, import_id)
    if row is None:  # finished by an earlier delivery, or gone with its book
        return "skipped"
    try:
        lines = await _run(row)
    except Exception as exc:
        log.exception("import %s failed", import_id)
        await _finish(row, [], f"internal error while importing ({type(exc).__name__})")
        return "failed"
    await _finish(row, lines, None)
    return "completed"


async def _run(row: Any) -> list[ImportLine]:
    res = context.current()
    _, entries = imports.read_entries(bytes(row["source"]), row["format"])
    async with res.pool.acquire() as conn:
        book = await conn.fetchrow(imports.Q.book_for_import, row["book_id"])
        chapters = await conn.fetch(anchor_text.Q.book_text, row["book_id"])
    if book is None or not chapters:
        raise LookupError("the book is gone")
    text = await asyncio.to_thread(anchor_text.book_text, book["title"] or "", book["page_count"],
                                   chapters)  # fmt: skip
    # a whole-file import's share of the file, else decided here
    titles = set(row["titles"] or []) or await asyncio.to_thread(imports.book_titles, entries, text)
    # numbered as in the file; a whole-file import's share of it only
    numbered = [(n, e) for n, e in enumerate(entries, start=1)
                if not row["titles"] or e.title.casefold() in titles]  # fmt: skip
    lines: list[ImportLine] = []
    placed_all: list[Placed] = []
    later: list[tuple[int, Entry]] = []  # unplaced highlights a location may yet place
    for at in range(0, len(numbered), BATCH):
        placed = await asyncio.to_thread(imports.place, numbered[at : at + BATCH], text, titles)
        placed_all += placed
        waiting = {p.n for p in placed if p.start is None and not p.other_book
                   and p.entry.kind == "highlight" and p.entry.location}  # fmt: skip
        later += [(p.n, p.entry) for p in placed if p.n in waiting]
        lines += await _write_batch(row, text, [p for p in placed if p.n not in waiting],
                                    len(lines) + len(later), len(numbered))  # fmt: skip
    if later:
        exact = imports.locations_exact(placed_all)
        placed = await asyncio.to_thread(imports.place, later, text, titles, exact)
        lines += await _write_batch(row, text, placed, len(numbered), len(numbered))
    return sorted(lines, key=lambda line: line.n)


async def _write_batch(
    row: Any, text: anchor_text.BookText, placed: list[Placed], done: int, total: int
) -> list[ImportLine]:
    """Write a batch's entries and say how far the import is."""
    res = context.current()
    async with res.pool.acquire() as conn:
        lines, stored = await _write(conn, row, text, placed)
        async with conn.transaction():
            await conn.execute(imports.Q.import_progress, row["id"], done)
            stored += await append_events(conn, [Event(
                user_channel(row["user_id"]), ev.IMPORT_PROGRESS,
                ImportProgress(import_id=row["id"], book_id=row["book_id"], done=done,
                               total=total),
            )], None)  # fmt: skip
    res.publish(stored)
    return lines


async def _write(
    conn: Conn, row: Any, text: anchor_text.BookText, placed: list[Placed]
) -> tuple[list[ImportLine], list[StoredEvent]]:
    user_id, book_id = row["user_id"], row["book_id"]
    lines: dict[int, ImportLine] = {}
    stored: list[StoredEvent] = []
    marks = [p for p in placed if p.entry.kind == "highlight" and p.start is not None]
    news = [_new_highlight(row, text, p) for p in marks]
    for p, outcome in zip(marks, await highlights.create_many(conn, news), strict=True):
        if isinstance(outcome, Exception):
            lines[p.n] = imports.line(p, "unmatched", None)
            continue
        stored += outcome.events
        lines[p.n] = imports.line(p, "created" if outcome.created else "present", outcome.value.id)
    for p in placed:
        if p.n in lines:
            continue
        if p.other_book:
            lines[p.n] = imports.line(p, "other_book", None)
        elif p.start is None or p.entry.kind == "highlight":
            lines[p.n] = imports.line(p, "unmatched", None)
        else:
            lines[p.n], events = await _place_mark(conn, user_id, book_id, text, p)
            stored += events
    return [lines[p.n] for p in placed], stored


def _new_highlight(row: Any, text: anchor_text.BookText, p: Placed) -> highlights.NewHighlight:
    assert p.start is not None and p.end is not None
    user_id, book_id, entry = row["user_id"], row["book_id"], p.entry
    where = {"format": row["format"], "page": entry.page,
             "location": list(entry.location) if entry.location else None}  # fmt: skip
    return highlights.new_highlight(user_id, book_id, HighlightCreate(
        id=imports.entry_id(user_id, book_id, entry), selected_text=text.text[p.start : p.end],
        page_number=text.page_at(p.start), start_offset=p.start, end_offset=p.end,
        color=imports.color_of(entry), note=entry.note[:10_000] if entry.note else None,
        tags=[t[:50] for t in entry.tags if t.strip()][:50], position_data={"import": where},
    ), None, imports.created_at(entry))  # fmt: skip


async def _place_mark(
    conn: Conn, user_id: UUID, book_id: UUID, text: anchor_text.BookText, p: Placed
) -> tuple[ImportLine, list[StoredEvent]]:
    """A bookmark, or a note not on any imported highlight, at its place."""
    assert p.start is not None
    made_id = imports.entry_id(user_id, book_id, p.entry)
    page = text.page_at(p.start)
    written: Any
    if p.entry.kind == "bookmark":
        written = await bookmarks.create(conn, user_id, book_id, BookmarkCreate(
            id=made_id, page_number=page, position_data={"offset": p.start},
            note=p.entry.note,
        ), None)  # fmt: skip
    else:
        written = await notes.create(conn, user_id, book_id, AnnotationCreate(
            id=made_id, annotation_type="text", content=p.entry.text[:50_000],
            page_number=page, position_data={"offset": p.start}, tags=p.entry.tags[:50],
        ), None)  # fmt: skip
    status: EntryStatus = "created" if written.created else "present"
    return imports.line(p, status, made_id), written.events


async def _finish(row: Any, lines: list[ImportLine], error: str | None) -> ImportJob:
    res = context.current()
    counts = Counter(line.status for line in lines)
    async with res.pool.acquire() as conn, conn.transaction():
        done = await conn.fetchrow(
            imports.Q.finish_import, row["id"], "failed" if error else "completed",
            counts["created"], counts["present"], counts["unmatched"], counts["other_book"],
            lines, error,
        )  # fmt: skip
        job = imports.job_from_row(done)
        stored = await append_events(
            conn, [Event(user_channel(row["user_id"]), ev.IMPORT_FINISHED, job)], None
        )
    res.publish(stored)
    return job


async def sweep_stalled_imports() -> dict[str, int]:
    """Imports whose worker died: sent again, or failed after MAX_ATTEMPTS."""
    res = context.current()
    rows = await res.pool.fetch(imports.Q.stalled_imports, float(STALLED_AFTER_S))
    counts: Counter[str] = Counter()
    for r in rows:
        if r["attempts"] >= MAX_ATTEMPTS:
            async with res.pool.acquire() as conn:
                row = await conn.fetchrow(imports.Q.claim_import, r["id"])
            if row is not None:
                await _finish(row, [], f"gave up after {MAX_ATTEMPTS} attempts to import")
                counts["failed"] += 1
        else:
            await import_task.kiq(str(r["id"]))
            counts["retried"] += 1
    return dict(counts)


@broker.task(task_name="imports.sweep", schedule=[{"cron": "*/5 * * * *"}])
async def sweep_task() -> dict[str, int]:
    return await sweep_stalled_imports()
