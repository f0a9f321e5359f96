"""Ingestion (issue 4): the longest corpus book through the real task, stage by stage
(from the times of its own book.processing events), next to the raw cost of the same
parse and the same model's encode of the same texts (the passages' windows, which are
what the model reads since issue 14), measured in the same run; and, for scale, the
encode of the passages themselves (what ingestion embedded before windows).

    python -m tests.bench.bench_ingest [--book moby-dick_epub3.epub]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from domain.books import operations as books
from domain.books.chunk import chunk_chapters
from domain.books.detect import detect_type
from domain.books.parse import parse_book
from server.db import create_pool
from server.embeddings import make_embedder
from server.settings import Settings
from server.storage import LocalStorage
from tests.bench.harness import Bench, log, make_users
from tests.services import CORPUS, ROOT
from workers import context
from workers.ingest import ingest_book


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", default="moby-dick_epub3.epub")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    data = (CORPUS / args.book).read_bytes()
    settings = Settings(embedding_threads=args.threads)
    embedder = make_embedder(settings)
    embedder.embed(["warm the model up"])  # loading (≈7 s) is not part of either figure

    async with Bench() as bench:
        pool = await create_pool(bench.url, min_size=1, max_size=4)
        files = LocalStorage(ROOT / ".bookmind" / "bench-files")
        context.bind(settings, pool, files, lambda _: None)
        (user,) = await make_users(bench.url, 1)
        async with pool.acquire() as conn:
            written = await books.upload(conn, files, user, data, filename=args.book, title=None,
                                         author=None, visibility="private", max_bytes=10**9)  # fmt: skip
        started = time.perf_counter()
        assert await ingest_book(written.value.id) == "completed"
        total = time.perf_counter() - started
        rows = await pool.fetch(
            """SELECT data->>'stage' AS stage, created_at FROM channel_events
               WHERE event = 'book.processing' AND data->>'book_id' = $1 ORDER BY seq""",
            str(written.value.id),
        )
        done_at = await pool.fetchval(
            "SELECT processing_completed_at FROM books WHERE id = $1", written.value.id
        )
        passages = await pool.fetchval(
            "SELECT count(*) FROM book_embeddings WHERE book_id = $1", written.value.id
        )
        await pool.close()

    marks = [(r["stage"], r["created_at"]) for r in rows if r["stage"] != "stored"]
    firsts: dict[str, float] = {}
    for stage, at in marks:
        firsts.setdefault(stage, at.timestamp())
    order = ["parsing", "chunking", "embedding", "indexing"]
    ends = [firsts.get(s) for s in order[1:]] + [done_at.timestamp()]
    stage_times = {
        s: (e - firsts[s]) for s, e in zip(order, ends, strict=True) if s in firsts and e
    }

    # the raw costs, same run, same bytes, same texts
    t = time.perf_counter()
    parsed = parse_book(data, detect_type(data) or "")
    raw_parse = time.perf_counter() - t
    chunks = chunk_chapters(parsed.chapters)
    texts = [w for p in chunks for w in p.windows()]
    t = time.perf_counter()
    embedder.embed(texts)
    raw_encode = time.perf_counter() - t
    t = time.perf_counter()
    embedder.embed([p.text for p in chunks])
    passages_encode = time.perf_counter() - t

    log(f"ingestion of {args.book}: {parsed.word_count} words, {passages} passages, "
        f"{args.threads} thread(s) for the model")  # fmt: skip
    for stage in order:
        if stage in stage_times:
            log(f"  stage {stage:10} {stage_times[stage]:7.2f} s")
    log(f"  pipeline total       {total:7.2f} s")
    log(f"  raw parse            {raw_parse:7.2f} s")
    log(f"  raw encode           {raw_encode:7.2f} s ({len(texts) / raw_encode:.0f} windows/s)")
    log(f"  for scale: encode of the {len(chunks)} passages whole {passages_encode:7.2f} s")
    overhead = total / (raw_parse + raw_encode) - 1
    log(f"  overhead over raw parse + encode: {overhead:.1%} (target < 15%)")


if __name__ == "__main__":
    asyncio.run(main())
