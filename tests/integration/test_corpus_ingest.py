"""Every corpus book, of every format, through the real ingestion task: completed, with
chapters and searchable passages."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.books import operations as books
from server.db import create_pool
from server.settings import Settings
from server.storage import LocalStorage
from tests.factories import make_user
from tests.services import CORPUS
from workers import context
from workers.ingest import ingest_book

pytestmark = pytest.mark.slow

ALL_BOOKS = sorted(
    p.name for p in CORPUS.iterdir()
    if p.suffix in {".epub", ".pdf", ".mobi", ".docx"} and not p.name.startswith("scanned")
)  # fmt: skip


async def test_every_corpus_book_ingests(database_url: str, tmp_path: Path) -> None:
    assert len(ALL_BOOKS) == 11
    pool = await create_pool(database_url, min_size=1, max_size=4)
    context.bind(Settings(embedding_threads=2), pool, LocalStorage(tmp_path), lambda _: None)
    try:
        async with pool.acquire() as conn:
            user = await make_user(conn)
        results = {}
        for name in ALL_BOOKS:
            async with pool.acquire() as conn:
                written = await books.upload(
                    conn, context.current().files, user, (CORPUS / name).read_bytes(),
                    filename=name, title=None, author=None, visibility="private",
                    max_bytes=10**8,
                )  # fmt: skip
            results[name] = (written.value.id, await ingest_book(written.value.id))
        assert {n: r for n, (_, r) in results.items() if r != "completed"} == {}
        for name, (book_id, _) in results.items():
            row = await pool.fetchrow(
                """SELECT (SELECT count(*) FROM book_chapters WHERE book_id = $1) AS chapters,
                          (SELECT count(*) FROM book_embeddings WHERE book_id = $1) AS passages,
                          (SELECT word_count FROM books WHERE id = $1) AS words""",
                book_id,
            )
            assert row is not None
            assert row["chapters"] >= 1 and row["passages"] >= 1, name
            assert row["passages"] >= row["words"] / 170, name  # the whole text is covered
    finally:
        await pool.close()
