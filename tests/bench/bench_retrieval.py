"""Retrieval quality (issue 14): recall@1/5/10 and MRR on the questions in
`tests/data/retrieval_questions.json` (how they were made: `tests/data/README.md`), for
BookMind's own `/books/{id}/search`, its search across a library (`/search`, all five
books in one reader's library, a hit counting only in the question's book) and, on the
very same stored passages, three baselines measured in the same run:

- BM25 (k1 1.2, b 0.75) over PostgreSQL's `english` analysis of each passage (the
  lexemes of the stored `tsv`), so it sees the same words BookMind's full-text half does;
- dense: exact cosine between the question's MiniLM vector and each passage's text
  embedded whole (one vector per passage, the model reading its first ~190 words: what
  a plain vector index holds; embedded here, since BookMind stores window vectors);
- RRF: the two rankings fused by reciprocal rank (k = 60).

A question is answered at rank r when the r-th passage contains its supporting sentence.
Figures are printed per split (`dev` is what a method may be tuned on, `heldout` is not),
per kind (paraphrase, literal) and per book, with BookMind's query latency.

    python -m tests.bench.bench_retrieval [--books moby-dick,free-culture]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np

from domain.books.search import search, search_library
from server.db import create_pool
from server.embeddings import make_embedder
from server.settings import Settings
from server.storage import LocalStorage
from tests.bench.harness import Bench, log, make_users, percentile
from tests.ingested import ingest_corpus_book
from tests.services import ROOT
from workers import context

QUESTIONS = Path(__file__).parents[1] / "data" / "retrieval_questions.json"
DEPTH = 10
K1, B = 1.2, 0.75


class Passages:
    """A book's stored passages as the baselines read them."""

    def __init__(self, rows: Sequence[Any], embed: Any) -> None:
        self.texts = [r["content"] for r in rows]
        self.vectors = np.asarray(embed(self.texts))
        self.terms: list[dict[str, int]] = [json.loads(r["terms"]) for r in rows]
        self.lengths = np.array([sum(t.values()) for t in self.terms], dtype=float)

    def bm25(self, query_terms: list[str]) -> list[int]:
        n = len(self.texts)
        scores = np.zeros(n)
        norm = K1 * (1 - B + B * self.lengths / self.lengths.mean())
        for term in set(query_terms):
            tf = np.array([t.get(term, 0) for t in self.terms], dtype=float)
            df = int((tf > 0).sum())
            if df:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                scores += idf * tf * (K1 + 1) / (tf + norm)
        return [int(i) for i in np.argsort(-scores, kind="stable")[:50] if scores[i] > 0]

    def dense(self, vector: list[float]) -> list[int]:
        return [int(i) for i in np.argsort(-(self.vectors @ np.asarray(vector)))[:50]]


def rrf(*rankings: list[int], k: int = 60) -> list[int]:
    scores: dict[int, float] = defaultdict(float)
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] += 1 / (k + rank + 1)
    return sorted(scores, key=lambda i: -scores[i])


def first_hit(texts: Sequence[str], support: str) -> int | None:
    return next((r for r, text in enumerate(texts[:DEPTH]) if support in text), None)


def scores(ranks: list[int | None]) -> str:
    n = len(ranks)
    at = {k: sum(1 for r in ranks if r is not None and r < k) / n for k in (1, 5, 10)}
    mrr = sum(1 / (r + 1) for r in ranks if r is not None) / n
    return f"{at[1]:5.2f} {at[5]:5.2f} {at[10]:5.2f} {mrr:5.2f}  (n={n})"


TERMS = """SELECT content,
       (SELECT json_object_agg(lexeme, coalesce(array_length(positions, 1), 1))
        FROM unnest(tsv))::text AS terms
FROM book_embeddings WHERE book_id = $1 ORDER BY chunk_index"""


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--books", help="comma-separated keys of the question file's books")
    args = parser.parse_args()
    data = json.loads(QUESTIONS.read_text())
    chosen = args.books.split(",") if args.books else list(data["books"])
    questions = [q for q in data["questions"] if q["book"] in chosen]
    settings = Settings()
    embedder = make_embedder(settings)
    ranks: dict[tuple[str, str], list[int | None]] = defaultdict(list)
    latencies: dict[str, list[float]] = defaultdict(list)
    async with Bench() as bench:
        pool = await create_pool(bench.url, min_size=1, max_size=4)
        files = LocalStorage(ROOT / ".bookmind" / "bench-files")
        context.bind(settings, pool, files, lambda _: None)
        (user,) = await make_users(bench.url, 1)
        books: dict[str, UUID] = {}
        stored: dict[str, Passages] = {}
        for key in chosen:
            started = time.perf_counter()
            books[key] = await ingest_corpus_book(pool, files, user, data["books"][key])
            rows = await pool.fetch(TERMS, books[key])
            stored[key] = Passages(rows, embedder.embed)
            log(f"{key}: {len(stored[key].texts)} passages, {time.perf_counter() - started:.0f} s")
        async with pool.acquire() as conn:
            for q in questions:
                started = time.perf_counter()
                hits = await search(conn, embedder, user, books[q["book"]], q["q"], DEPTH)
                latencies["book"].append(time.perf_counter() - started)
                found = {"bookmind": first_hit([h.text for h in hits], q["support"])}
                started = time.perf_counter()
                shelves = await search_library(conn, embedder, user, q["q"], DEPTH)
                latencies["library"].append(time.perf_counter() - started)
                across = sorted(((g.book_id, h) for g in shelves for h in g.hits),
                                key=lambda pair: -pair[1].score)  # fmt: skip
                found["library"] = first_hit(
                    [h.text if b == books[q["book"]] else "" for b, h in across], q["support"]
                )
                vector = embedder.embed_query(q["q"])
                terms = [r["lexeme"] for r in await conn.fetch(
                    "SELECT lexeme FROM unnest(to_tsvector('english', $1))", q["q"])]  # fmt: skip
                passages = stored[q["book"]]
                by_words, by_meaning = passages.bm25(terms), passages.dense(vector)
                baselines = {"bm25": by_words, "dense": by_meaning,
                             "rrf": rrf(by_words, by_meaning)}  # fmt: skip
                for name, ranked in baselines.items():
                    found[name] = first_hit([passages.texts[i] for i in ranked], q["support"])
                for name, rank in found.items():
                    for group in ("all", q["split"], q["kind"], q["book"]):
                        ranks[(name, group)].append(rank)
        await pool.close()
    groups = ["heldout", "dev", "all", "paraphrase", "literal", *chosen]
    print(f"\n{'method':<10} {'questions':<20} {'R@1':>5} {'R@5':>5} {'R@10':>5} {'MRR':>5}")
    for group in groups:
        for name in ("bookmind", "library", "bm25", "dense", "rrf"):
            if ranks[(name, group)]:
                print(f"{name:<10} {group:<20} {scores(ranks[(name, group)])}")
        print()
    for kind, times in latencies.items():
        ms = [x * 1000 for x in times]
        print(f"BookMind {kind} search latency (embedding + SQL, k={DEPTH}): "
              f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
              f"max {max(ms):.1f} ms over {len(ms)} queries")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
