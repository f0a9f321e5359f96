"""Ingestion within limits: a parser past its deadline is killed and the book fails with
the reason; a book of thousands of tiny chapters is merged to a usable table of contents."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import docx
import psutil
import pytest

from domain.books import operations as books
from domain.books.parsed import MAX_CHAPTERS
from server.db import create_pool
from server.storage import LocalStorage
from tests.factories import make_user
from tests.services import CORPUS, session_settings
from workers import context
from workers.ingest import ingest_book


@pytest.fixture
async def bound_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


async def _upload(pool: asyncpg.Pool, data: bytes, filename: str) -> UUID:
    async with pool.acquire() as conn:
        user = await make_user(conn)
        written = await books.upload(
            conn, context.current().files, user, data, filename=filename, title=None,
            author=None, visibility="private", max_bytes=10**8,
        )  # fmt: skip
    return written.value.id


def _command_line(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # ended since it was listed, or a zombie not yet reaped
        return ""


async def test_a_parser_past_its_deadline_is_killed(
    bound_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    context.bind(
        session_settings(parse_timeout_s=0.05), bound_pool, LocalStorage(tmp_path), lambda _: None
    )
    book_id = await _upload(bound_pool, (CORPUS / "moby-dick_epub3.epub").read_bytes(), "m.epub")
    assert await ingest_book(book_id) == "failed"
    row = await bound_pool.fetchrow("SELECT * FROM books WHERE id = $1", book_id)
    assert row is not None
    assert row["processing_status"] == "failed"
    assert row["processing_error"] == "the book took longer than 0.05 s to read"
    assert (
        await bound_pool.fetchval("SELECT count(*) FROM book_chapters WHERE book_id = $1", book_id)
        == 0
    )
    parsers = [c for c in psutil.Process().children()
               if "workers.parse_process" in _command_line(c)]  # fmt: skip
    assert parsers == []  # the child is gone, not left spinning (the embedding one stays)


async def test_thousands_of_tiny_chapters(bound_pool: asyncpg.Pool, tmp_path: Path) -> None:
    context.bind(session_settings(), bound_pool, LocalStorage(tmp_path), lambda _: None)
    document = docx.Document()
    entries = MAX_CHAPTERS + 200  # more sections than a book may have chapters
    for i in range(entries):
        document.add_heading(f"Entry {i}", level=1)
        document.add_paragraph(f"The entry number {i} says one short thing about the glossary.")
    out = io.BytesIO()
    document.save(out)
    book_id = await _upload(bound_pool, out.getvalue(), "glossary.docx")
    assert await ingest_book(book_id) == "completed"
    chapters = await bound_pool.fetch(
        "SELECT title, content FROM book_chapters WHERE book_id = $1 ORDER BY chapter_number",
        book_id,
    )
    assert 100 < len(chapters) <= MAX_CHAPTERS
    assert chapters[0]["title"] == "Entry 0"
    text = "\n".join(c["content"] for c in chapters)
    assert text.count("says one short thing") == entries and f"Entry {entries - 1}" in text
