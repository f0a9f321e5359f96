"""A book's search index from its chapters: passages, their vectors and their windows'
vectors (domain/books/chunk.py), made by ingestion and by re-indexing alike.

Only the windows go through the model; a passage's own vector is the normalized mean of
its windows' vectors. That ranked as well as embedding the passage's text (which the
model cuts at ~190 words) on the retrieval questions, and saves a third of the
embedding time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import numpy as np
from pgvector import Vector

from domain.books.chunk import Passage, chunk_chapters
from domain.books.parsed import Chapter
from domain.ports import Embedder
from domain.sql import Conn

EMBED_BATCH = 256
PASSAGE_COLUMNS = ["id", "book_id", "book_chapter_id", "content", "chunk_index", "start_page",
                   "end_page", "start_offset", "end_offset", "word_count", "chunk_title",
                   "embedding", "embedding_model", "embedded_at"]  # fmt: skip
# called with the share of the embedding done, 0 to 1
Progress = Callable[[float], Awaitable[None]]


@dataclass
class Index:
    passages: list[Passage]
    vectors: list[list[float]]  # one per passage
    windows: list[tuple[int, list[float]]]  # (passage index, vector)


async def build(chapters: list[Chapter], embedder: Embedder, progress: Progress) -> Index:
    """Chunk and embed, off the event loop, in batches with progress between them."""
    passages = chunk_chapters(chapters)
    texts: list[str] = []
    owners: list[int] = []
    for p in passages:
        for window in p.windows():
            texts.append(window)
            owners.append(p.index)
    vectors: list[list[float]] = []
    step = max(EMBED_BATCH, len(texts) // 8)
    for i in range(0, len(texts), step):
        vectors += await asyncio.to_thread(embedder.embed, texts[i : i + step])
        if len(vectors) < len(texts):
            await progress(len(vectors) / len(texts))
    return Index(
        passages, _means(len(passages), owners, vectors), list(zip(owners, vectors, strict=True))
    )


def _means(count: int, owners: list[int], vectors: list[list[float]]) -> list[list[float]]:
    """Each passage's windows' mean, at unit length."""
    sums = np.zeros((count, len(vectors[0]) if vectors else 0), dtype=np.float32)
    np.add.at(sums, np.asarray(owners), np.asarray(vectors, dtype=np.float32))
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return [row.tolist() for row in sums]


async def store(
    conn: Conn, book_id: UUID, chapter_ids: dict[int, UUID], index: Index, model: str
) -> None:
    """Insert the index of a book whose passages were just removed (in the caller's
    transaction)."""
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in index.passages]
    await conn.copy_records_to_table(
        "book_embeddings",
        columns=PASSAGE_COLUMNS,
        records=[
            (pid, book_id, chapter_ids[p.chapter_number], p.text, p.index, p.start_page,
             p.end_page, p.start_offset, p.end_offset, p.word_count, p.chapter_title,
             Vector(v), model, now)
            for pid, p, v in zip(ids, index.passages, index.vectors, strict=True)
        ],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "passage_windows",
        columns=["passage_id", "book_id", "embedding"],
        records=[(ids[owner], book_id, Vector(v)) for owner, v in index.windows],
    )
