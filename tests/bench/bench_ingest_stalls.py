"""Issue 19: a web process under `make run` (no Redis: it runs the jobs too) must keep
answering while a book ingests. A separate process polls `/healthz` every 10 ms while a
corpus book goes from upload to ready; the baseline is the same probe with the server
idle, in the same run. Prints each probe summary, the probes over 100 ms and the
ingestion time.

    python -m tests.bench.bench_ingest_stalls [--book moby-dick_epub3.epub] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from tests import attacks
from tests.bench.harness import Bench, log, make_users, server_env, start_server, tokens_for
from tests.services import CORPUS

SLOW_MS = 100.0


async def ingest(base_url: str, token: str, book: str) -> float:
    """Upload the book and wait until it is ready; seconds from upload to ready."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers,
                                 timeout=60) as http:  # fmt: skip
        started = time.monotonic()
        made = await http.post("/books", files={"file": (book, (CORPUS / book).read_bytes())})
        made.raise_for_status()
        book_id = made.json()["id"]
        while True:
            await asyncio.sleep(1)
            status = (await http.get(f"/books/{book_id}")).json()["processing_status"]
            if status in {"completed", "failed"}:
                assert status == "completed", status
                return time.monotonic() - started


async def main(book: str, rounds: int) -> None:
    async with Bench() as bench:
        server = await start_server(server_env(bench.url))
        try:
            (user,) = await make_users(bench.url, 1)
            (token,) = tokens_for([user])
            async with attacks.probing(server.base_url) as idle:
                await asyncio.sleep(3)
            log(f"baseline, idle server:   {idle[0].summary()}")
            for n in range(rounds):
                async with attacks.probing(server.base_url) as probe:
                    took = await ingest(server.base_url, token, book)
                slow = sum(1 for x in probe[0].latencies_ms if x > SLOW_MS)
                log(f"ingesting {book} (#{n + 1}): {probe[0].summary()}; "
                    f"{slow} over {SLOW_MS:.0f} ms; ready in {took:.1f} s")  # fmt: skip
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--book", default="moby-dick_epub3.epub")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.book, args.rounds))
