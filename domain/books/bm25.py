"""The lexical half of search: BM25 (k1 1.2, b 0.75) over the books' postings
(migration 0034), computed here rather than in SQL.

Any question word counts (not all of them, as a full-text match would ask); tf is the
lexeme's count in the passage; N, df and the average length are taken over the books
searched, whatever a spoiler limit then keeps. Numpy scores a library's postings in about
a millisecond, where PostgreSQL spent most of the search aggregating the same rows
(docs/benchmarks.md)."""

from __future__ import annotations

from uuid import UUID

import numpy as np

from domain.books.operations import Q
from domain.sql import Conn

K1, B = 1.2, 0.75
# a passage: its book and its chunk_index
Passage = tuple[UUID, int]


async def ranked(
    conn: Conn, book_ids: list[UUID], query: str, n: int, before_offset: int | None = None
) -> list[Passage]:
    """The `n` passages of `book_ids` with the best BM25 score for `query`, best first
    (ties in the books' id order, then the book's order); with `before_offset`, only
    passages that end at or before it."""
    postings = await conn.fetch(Q.book_terms, book_ids, query)
    if not postings:
        return []
    n_passages, words = await conn.fetchrow(Q.term_totals, book_ids) or (0, 0)
    if not n_passages:
        return []
    keep: dict[UUID, list[int]] | None = None
    if before_offset is not None:
        keep = {}
        for r in await conn.fetch(Q.chunks_ending_by, book_ids, before_offset):
            keep.setdefault(r["book_id"], []).append(r["chunk_index"])
    books = sorted({r["book_id"] for r in postings})
    number = {book: i for i, book in enumerate(books)}
    avgdl = words / n_passages
    df: dict[str, int] = {}
    for r in postings:
        df[r["lexeme"]] = df.get(r["lexeme"], 0) + len(r["chunks"]) // 4
    keys, scores = [], []
    for r in postings:
        chunks = np.frombuffer(r["chunks"], dtype=">i4").astype(np.int64)
        tf = np.frombuffer(r["tfs"], dtype=">i2").astype(np.float64)
        dl = np.frombuffer(r["lengths"], dtype=">i2").astype(np.float64)
        idf = np.log(1 + (n_passages - df[r["lexeme"]] + 0.5) / (df[r["lexeme"]] + 0.5))
        score = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))
        if keep is not None:
            kept = np.isin(chunks, keep.get(r["book_id"], []))
            chunks, score = chunks[kept], score[kept]
        keys.append((number[r["book_id"]] << 32) | chunks)
        scores.append(score)
    # one key per (book, passage): the books' order in the high bits, so that a tie goes
    # to the smaller key as the docstring says
    unique, where = np.unique(np.concatenate(keys), return_inverse=True)
    total = np.bincount(where, weights=np.concatenate(scores), minlength=len(unique))
    best = np.lexsort((unique, -total))[:n]
    return [(books[int(unique[i]) >> 32], int(unique[i]) & 0xFFFFFFFF) for i in best]
