"""Issue 19: a web process under `make run` (no Redis: it runs the jobs too) must keep
answering while a book ingests. A separate process polls `/healthz` every 10 ms while a
corpus book goes from upload to ready; the baseline is the same probe with the server
idle, in the same run. Prints each probe summary, the probes over 100 ms (each with the
ingestion stage it fell in, from the book's stored `book.processing` events) and the
ingestion time.

With `--search`, the reader also searches another book of theirs (Alice, ingested first)
every 250 ms, idle and while the book ingests: a search embeds its question with the
same model the ingestion is busy with.

    python -m tests.bench.bench_ingest_stalls [--book moby-dick_epub3.epub] [--rounds 1]
        [--search]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import httpx

from tests import attacks
from tests.bench.harness import (
    Bench,
    log,
    make_users,
    percentile,
    server_env,
    start_server,
    tokens_for,
)
from tests.services import CORPUS


async def stages(database_url: str, book_id: str) -> list[tuple[float, str]]:
    """(wall-clock time, stage) of each `book.processing` event the book's ingestion
    stored, in order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT created_at, (data->>'stage') || ' ' || (data->>'percent') || '%' AS stage
               FROM channel_events
               WHERE event = 'book.processing' AND data->>'book_id' = $1 ORDER BY seq""",
            book_id,
        )
    finally:
        await conn.close()
    return [(r["created_at"].timestamp(), r["stage"]) for r in rows]


def where(at: float, upload: float, marks: list[tuple[float, str]]) -> str:
    stage = "upload"
    for t, name in marks:
        if t <= at:
            stage = name
    clock = datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S.%f")[:-3]
    return f"{clock}, +{at - upload:.1f} s, {stage}"


async def ingest(base_url: str, token: str, book: str) -> tuple[float, float, str]:
    """Upload the book and wait until it is ready: (upload's wall-clock time, seconds from
    upload to ready, the book's id)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers,
                                 timeout=60) as http:  # fmt: skip
        wall, started = time.time(), time.monotonic()
        made = await http.post("/books", files={"file": (book, (CORPUS / book).read_bytes())})
        made.raise_for_status()
        book_id = made.json()["id"]
        while True:
            await asyncio.sleep(1)
            status = (await http.get(f"/books/{book_id}")).json()["processing_status"]
            if status in {"completed", "failed"}:
                assert status == "completed", status
                return wall, time.monotonic() - started, book_id


QUESTIONS = ["Why does Alice follow the White Rabbit?", "What does the Cheshire Cat say?",
             "Who is at the mad tea party?", "What happens at the Queen's croquet game?"]  # fmt: skip
SEARCH_BOOK = "alice-in-wonderland_epub3.epub"


@contextlib.asynccontextmanager
async def searching(base_url: str, token: str, book_id: str | None) -> AsyncIterator[list[float]]:
    """`GET /books/{id}/search` every 250 ms while the body runs (nothing without a book);
    yields the list of their latencies in ms, filled as they come."""
    latencies: list[float] = []

    async def loop() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers,
                                     timeout=60) as http:  # fmt: skip
            for n in itertools.count():
                t = time.perf_counter()
                r = await http.get(f"/books/{book_id}/search",
                                   params={"q": QUESTIONS[n % len(QUESTIONS)], "k": 5})  # fmt: skip
                r.raise_for_status()
                latencies.append((time.perf_counter() - t) * 1000)
                await asyncio.sleep(0.25)

    task = asyncio.create_task(loop()) if book_id else None
    try:
        yield latencies
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _searches(latencies: list[float]) -> str:
    return (f"{len(latencies)} searches: p50 {percentile(latencies, 50):.1f}, "
            f"p95 {percentile(latencies, 95):.1f}, max {max(latencies):.1f} ms")  # fmt: skip


async def main(book: str, rounds: int, slow_ms: float, search: bool) -> None:
    async with Bench() as bench:
        server = await start_server(server_env(bench.url))
        try:
            (user,) = await make_users(bench.url, 1)
            (token,) = tokens_for([user])
            other = (await ingest(server.base_url, token, SEARCH_BOOK))[2] if search else None
            if other is not None:
                async with searching(server.base_url, token, other) as first:
                    while not first:
                        await asyncio.sleep(0.05)
                log(f"first search (its model starting): {first[0]:.0f} ms")
            async with attacks.probing(server.base_url) as idle, \
                    searching(server.base_url, token, other) as idle_searches:  # fmt: skip
                await asyncio.sleep(3 if other is None else 10)
            log(f"baseline, idle server:   {idle[0].summary()}")
            if idle_searches:
                log(f"  and {_searches(idle_searches)}")
            for n in range(rounds):
                async with attacks.probing(server.base_url) as probe, \
                        searching(server.base_url, token, other) as searches:  # fmt: skip
                    upload, took, book_id = await ingest(server.base_url, token, book)
                p = probe[0]
                slow = [(ms, at) for ms, at in zip(p.latencies_ms, p.sent_at, strict=True)
                        if ms > slow_ms]  # fmt: skip
                log(f"ingesting {book} (#{n + 1}): {p.summary()}; "
                    f"{len(slow)} over {slow_ms:.0f} ms; ready in {took:.1f} s")  # fmt: skip
                if searches:
                    log(f"  and {_searches(searches)}")
                marks = await stages(bench.url, book_id)
                for ms, at in slow:
                    log(f"  a probe of {ms:.1f} ms sent at {where(at, upload, marks)}")
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--book", default="moby-dick_epub3.epub")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--slow-ms", type=float, default=100.0,
                        help="probes slower than this are listed with their stage")  # fmt: skip
    parser.add_argument("--search", action="store_true",
                        help="also time searches in another book, idle and while ingesting")  # fmt: skip
    args = parser.parse_args()
    asyncio.run(main(args.book, args.rounds, args.slow_ms, args.search))
