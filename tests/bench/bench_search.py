"""Search (issue 4): latency p50/p95 on one book (the query's embedding and the SQL
apart); a search across the reader's library (`GET /search`) as the library grows (each
book a copy of the ingested one, its passages and windows copied in SQL; one book is the
baseline); and across 100,000 passages through the HNSW index, with its recall@10 against
exact search at the chosen ef_search. Uniform random vectors make HNSW recall
meaningless (MEASURED.md), so the 100,000 are spread over a real book's passage
embeddings (each mixes two real passage vectors, plus small noise).

    python -m tests.bench.bench_search [--book sherlock-holmes_pg1661_epub2.epub]
        [--library 1,10,25,50]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any
from uuid import UUID

import numpy as np
from pgvector import Vector

from domain.books import bm25
from domain.books import operations as books
from domain.books.chunk import INDEX_VERSION
from domain.books.search import CANDIDATES, search, search_library
from server.db import create_pool
from server.embeddings import make_embedder
from server.settings import Settings
from server.storage import LocalStorage
from tests.bench.harness import Bench, log, make_books, make_users, percentile
from tests.ingested import ingest_corpus_book
from tests.services import ROOT
from workers import context

HNSW = ("CREATE INDEX index_book_embeddings_on_embedding ON book_embeddings "
        "USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)")  # fmt: skip


def _mixtures(real: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n unit vectors spread over the real passages' embedding space: each mixes two real
    vectors (random weight) plus small noise (|noise| about 0.1)."""
    a = real[rng.integers(0, len(real), n)]
    b = real[rng.integers(0, len(real), n)]
    t = rng.uniform(0, 1, (n, 1))
    mixed = t * a + (1 - t) * b + rng.normal(0, 0.1 / np.sqrt(real.shape[1]), (n, real.shape[1]))
    unit: np.ndarray = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return unit


def ms(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"p50 {percentile(v, 50):.1f} ms, p95 {percentile(v, 95):.1f} ms"


async def library_search(
    url: str, pool: Any, embedder: Any, user: UUID, book_id: UUID, questions: list[str],
    sizes: list[int],
) -> None:  # fmt: skip
    """`GET /search`'s search over libraries of `sizes` books, copies of `book_id` indexed
    as the current version indexes (windows, not each passage's own vector), deleted
    afterwards."""
    books_now, copies = 1, []
    for size in sizes:
        async with pool.acquire() as conn:
            for copy in await make_books(url, [user] * max(0, size - books_now), public=False):
                copies.append(copy)
                for query in (books.Q.copy_chapters, books.Q.copy_passages, books.Q.copy_windows):
                    await conn.execute(query, copy, book_id)
                await conn.execute(books.Q.store_terms, copy)
                await conn.execute(books.Q.set_index_version, copy, INDEX_VERSION)
            books_now = max(books_now, size)
            await conn.execute("ANALYZE")
            windows = await conn.fetchval("SELECT count(*) FROM passage_windows")
            await search_library(conn, embedder, user, questions[0], 10)  # warm
            times = []
            for q in questions:
                t = time.perf_counter()
                await search_library(conn, embedder, user, q, 10)
                times.append(time.perf_counter() - t)
        log(f"search across a library of {size:3d} books ({windows} windows): {ms(times)}")
    # the HNSW measurement that follows needs distinct vectors: identical copies tie
    await pool.execute("DELETE FROM books WHERE id = ANY($1)", copies)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", default="sherlock-holmes_pg1661_epub2.epub")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--library", default="1,10,25,50",
                        help="library sizes (books) to time GET /search at")  # fmt: skip
    args = parser.parse_args()
    settings = Settings()
    embedder = make_embedder(settings)
    embedder.embed(["warm up"])
    rng = random.Random(7)
    async with Bench() as bench:
        pool = await create_pool(bench.url, min_size=1, max_size=4)
        files = LocalStorage(ROOT / ".bookmind" / "bench-files")
        context.bind(settings, pool, files, lambda _: None)
        (user,) = await make_users(bench.url, 1)
        book_id = await ingest_corpus_book(pool, files, user, args.book)
        texts = [r["content"] for r in await pool.fetch(
            "SELECT content FROM book_embeddings WHERE book_id = $1", book_id)]  # fmt: skip
        questions = [" ".join(rng.choice(texts).split()[5:17]) for _ in range(args.queries)]

        # one book: the full hybrid search as the API runs it
        embed_t, words_t, near_t, total_t = [], [], [], []
        async with pool.acquire() as conn:
            for q in questions:
                t0 = time.perf_counter()
                vector = await asyncio.to_thread(embedder.embed_query, q)
                t1 = time.perf_counter()
                await bm25.ranked(conn, [book_id], q, CANDIDATES)
                t2 = time.perf_counter()
                await conn.fetch(
                    books.Q.nearest_passages, [book_id], Vector(vector), CANDIDATES, None
                )
                t3 = time.perf_counter()
                embed_t.append(t1 - t0)
                words_t.append(t2 - t1)
                near_t.append(t3 - t2)
                t4 = time.perf_counter()
                await search(conn, embedder, user, book_id, q, 10)
                total_t.append(time.perf_counter() - t4)
        log(f"search on one book ({len(texts)} passages, {args.queries} queries):")
        log(f"  whole search                 {ms(total_t)}")
        log(f"  query embedding              {ms(embed_t)}")
        log(f"  BM25 (postings)              {ms(words_t)}")
        log(f"  nearest passages (SQL)       {ms(near_t)}")
        await library_search(bench.url, pool, embedder, user, book_id, questions[:25],
                             [int(n) for n in args.library.split(",") if n])  # fmt: skip

        # across many books: clustered vectors around the real ones, then HNSW vs exact
        real = np.array([r["embedding"].to_numpy() for r in await pool.fetch(
            "SELECT embedding FROM book_embeddings WHERE book_id = $1", book_id)])  # fmt: skip
        (library,) = await make_books(bench.url, [user], public=False)
        nprng = np.random.default_rng(7)
        noisy = _mixtures(real, args.rows, nprng)
        async with pool.acquire() as conn:
            await conn.execute("DROP INDEX index_book_embeddings_on_embedding")
            await conn.copy_records_to_table(
                "book_embeddings", columns=["book_id", "content", "chunk_index", "embedding"],
                records=[(library, "x", i, Vector(v)) for i, v in enumerate(noisy)],
            )  # fmt: skip
            await conn.execute("SET maintenance_work_mem = '1GB'")
            t = time.perf_counter()
            await conn.execute(HNSW)
            build = time.perf_counter() - t
            await conn.execute("ANALYZE book_embeddings")
            total_rows = await conn.fetchval("SELECT count(*) FROM book_embeddings")
        log(f"across {total_rows} passages: HNSW (m 16, ef_construction 64) built in {build:.0f} s")
        queries = _mixtures(real, args.queries, nprng)
        async with pool.acquire() as conn:
            exact, exact_t = [], []
            for q in queries:
                t = time.perf_counter()
                # "+ 0" keeps the planner off the index: an exact scan
                rows = await conn.fetch("SELECT id FROM book_embeddings "
                                        "ORDER BY (embedding <=> $1) + 0 LIMIT 10", Vector(q))  # fmt: skip
                exact_t.append(time.perf_counter() - t)
                exact.append({r["id"] for r in rows})
            log(f"  exact scan                   {ms(exact_t)}")
            for ef in (40, 100, 200):
                await conn.execute(f"SET hnsw.ef_search = {ef}")
                found, times = [], []
                for q in queries:
                    t = time.perf_counter()
                    rows = await conn.fetch("SELECT id FROM book_embeddings "
                                            "ORDER BY embedding <=> $1 LIMIT 10", Vector(q))  # fmt: skip
                    times.append(time.perf_counter() - t)
                    found.append({r["id"] for r in rows})
                recall = sum(len(a & b) for a, b in zip(found, exact, strict=True)) / (
                    10 * len(exact)
                )
                log(f"  HNSW ef_search {ef:3d}           {ms(times)}, recall@10 {recall:.3f}")
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
