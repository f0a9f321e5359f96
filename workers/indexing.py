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
from typing import Any
from uuid import UUID

import numpy as np
from pgvector import Vector

from domain.books.chunk import Passage, chunk_chapters
from domain.books.operations import Q
from domain.books.parsed import Chapter
from domain.ports import Embedder
from domain.sql import Conn

EMBED_BATCH = 256
COPY_ROWS = 400
WINDOW_COLUMNS = ["passage_id", "book_id", "embedding"]
PASSAGE_COLUMNS = ["id", "book_id", "book_chapter_id", "content", "chunk_index", "start_page",
                   "end_page", "start_offset", "end_offset", "word_count", "chunk_title",
                   "embedding", "embedding_model", "embedded_at"]  # fmt: skip
# called with the share of the embedding done, 0 to 1
Progress = Callable[[float], Awaitable[None]]


@dataclass
class Index:
    passages: list[Passage]
    vectors: list[list[float]]  # one per passage
    windows: list[tuple[int, np.ndarray]]  # (passage index, vector)


def _windows(chapters: list[Chapter]) -> tuple[list[Passage], list[str], list[int]]:
    """The passages, and each window's text with the passage it belongs to."""
    passages = chunk_chapters(chapters)
    texts: list[str] = []
    owners: list[int] = []
    for p in passages:
        for window in p.windows():
            texts.append(window)
            owners.append(p.index)
    return passages, texts, owners


async def build(chapters: list[Chapter], embedder: Embedder, progress: Progress) -> Index:
    """Chunk and embed, off the event loop (chunking a long novel takes ~0.1 s), in
    batches with progress between them."""
    passages, texts, owners = await asyncio.to_thread(_windows, chapters)
    parts = [np.zeros((0, embedder.dimensions), dtype=np.float32)]
    done = 0
    step = max(EMBED_BATCH, len(texts) // 8)
    for i in range(0, len(texts), step):
        parts.append(await asyncio.to_thread(_embedded, embedder, texts[i : i + step]))
        done += len(parts[-1])
        if done < len(texts):
            await progress(done / len(texts))
    vectors = np.concatenate(parts)
    means = await asyncio.to_thread(_means, len(passages), owners, vectors)
    return Index(passages, means, list(zip(owners, vectors, strict=True)))


def _embedded(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """A step's vectors as one array, made in the step's thread: one conversion of a
    whole novel's lists of floats is a single call that holds the GIL, and so the event
    loop (48 ms for Moby-Dick's 3,815 windows, measured alone)."""
    return np.asarray(embedder.embed(texts), dtype=np.float32).reshape(-1, embedder.dimensions)


def _means(count: int, owners: list[int], vectors: np.ndarray) -> list[list[float]]:
    """Each passage's windows' mean, at unit length."""
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, np.asarray(owners, dtype=np.intp), vectors)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return [row.tolist() for row in sums]


def _rows(
    book_id: UUID, chapter_ids: dict[int, UUID], index: Index, model: str
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in index.passages]
    passages = [
        (pid, book_id, chapter_ids[p.chapter_number], p.text, p.index, p.start_page,
         p.end_page, p.start_offset, p.end_offset, p.word_count, p.chapter_title,
         Vector(v), model, now)
        for pid, p, v in zip(ids, index.passages, index.vectors, strict=True)
    ]  # fmt: skip
    windows = [(ids[owner], book_id, Vector(v)) for owner, v in index.windows]
    return passages, windows


async def store(
    conn: Conn, book_id: UUID, chapter_ids: dict[int, UUID], index: Index, model: str
) -> None:
    """Insert the index of a book whose passages were just removed, and its postings (in
    the caller's transaction)."""
    # the rows are made in a thread (5,000 vectors made into arrays held the loop ~0.1 s)
    # and sent a few hundred per COPY, whose encoding runs on the loop (a long novel's
    # rows in one COPY held it ~70 ms)
    passages, windows = await asyncio.to_thread(_rows, book_id, chapter_ids, index, model)
    for table, columns, rows in (("book_embeddings", PASSAGE_COLUMNS, passages),
                                 ("passage_windows", WINDOW_COLUMNS, windows)):  # fmt: skip
        for i in range(0, len(rows), COPY_ROWS):
            await conn.copy_records_to_table(table, columns=columns,
                                             records=rows[i : i + COPY_ROWS])  # fmt: skip
    await conn.execute(Q.store_terms, book_id)
