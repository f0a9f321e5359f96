"""A corpus book through the real upload and ingestion code, for tests and benchmarks
that need one ready."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from domain.books import operations as books
from domain.ports import FileStore
from tests.services import CORPUS
from workers.ingest import ingest_book


async def ingest_corpus_book(
    pool: asyncpg.Pool, files: FileStore, owner: UUID, name: str, *, public: bool = False
) -> UUID:
    """Upload `name` from the corpus for `owner` and ingest it (worker context bound)."""
    async with pool.acquire() as conn:
        written = await books.upload(
            conn, files, owner, (CORPUS / name).read_bytes(), filename=name, title=None,
            author=None, visibility="public" if public else "private", max_bytes=10**9,
        )  # fmt: skip
    assert await ingest_book(written.value.id) == "completed"
    return written.value.id
