"""AI answers (issue 5), against the local stand-in of the Messages API:

1. time from `ai.ask` to `ai.started` (checks, quota, retrieval, prompt) on the longest
   corpus book, p50/p95; baseline in the same run: the retrieval alone (query embedding
   + hybrid SQL) called in-process;
2. the latency the server adds to each token with N concurrent streams: the stand-in
   stamps each token as it writes it, the client stamps it as it arrives; baseline in the
   same run: N bare SDK streams reading the same stand-in directly.

    python -m tests.bench.bench_ai [--book moby-dick_epub3.epub] [--asks 100] [--streams 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
from websockets.asyncio.client import connect

from domain.books.search import search
from server.db import create_pool
from server.embeddings import make_embedder
from server.settings import Settings
from server.storage import LocalStorage
from tests.bench.harness import (
    Bench,
    log,
    make_users,
    percentile,
    server_env,
    start_server,
    tokens_for,
)
from tests.ingested import ingest_corpus_book
from tests.services import ROOT, free_port
from tests.standin_anthropic import Scenario, StandIn
from workers import context

TOKEN = re.compile(r"tok(\d+) ")


def ms(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return f"p50 {percentile(v, 50):6.1f} ms, p95 {percentile(v, 95):6.1f} ms, p99 {percentile(v, 99):6.1f} ms"


async def _hello(url: str, token: str) -> Any:
    ws = await connect(url, compression=None, max_size=None, open_timeout=60, ping_interval=None)
    await ws.send(json.dumps({"type": "hello", "token": token, "device": "bench"}))
    await ws.recv()
    return ws


async def _until(ws: Any, rid: str, kinds: set[str]) -> dict[str, Any]:
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv())
        if frame.get("id") == rid and frame["type"] in kinds:
            return frame


async def time_to_started(url: str, token: str, book_id: str, questions: list[str]) -> list[float]:
    ws = await _hello(url, token)
    times = []
    for i, q in enumerate(questions):
        rid = f"a{i}"
        t = time.perf_counter()
        await ws.send(json.dumps({"type": "ai.ask", "id": rid, "book_id": book_id,
                                  "question": q, "spoilers": i % 2 == 0}))  # fmt: skip
        started = await _until(ws, rid, {"ai.started", "ai.error", "error"})
        times.append(time.perf_counter() - t)
        assert started["type"] == "ai.started", started
        await _until(ws, rid, {"ai.completed", "ai.error"})
    await ws.close()
    return times


async def one_stream(
    url: str, token: str, book_id: str, n: int, delay: float
) -> tuple[str, list[tuple[int, float]]]:
    await asyncio.sleep(delay)
    ws = await _hello(url, token)
    question = f"Stream {n}: what happens to the ship?"
    await ws.send(json.dumps({"type": "ai.ask", "id": "s", "book_id": book_id,
                              "question": question, "spoilers": True}))  # fmt: skip
    arrivals = []
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("id") != "s":
            continue
        if frame["type"] == "ai.delta":
            now = time.time()
            arrivals += [(int(m), now) for m in TOKEN.findall(frame["text"])]
        elif frame["type"] in {"ai.completed", "ai.error"}:
            assert frame["type"] == "ai.completed", frame
            break
    await ws.close()
    return question, arrivals


async def bare_stream(
    client: anthropic.AsyncAnthropic, n: int, delay: float
) -> tuple[str, list[tuple[int, float]]]:
    await asyncio.sleep(delay)
    question = f"Bare {n}"
    arrivals = []
    async for text in _deltas(client, question):
        now = time.time()
        arrivals += [(int(m), now) for m in TOKEN.findall(text)]
    return question, arrivals


async def _deltas(client: anthropic.AsyncAnthropic, question: str) -> AsyncIterator[str]:
    """The text deltas of one streamed answer through the SDK's raw event stream."""
    stream = await client.messages.create(
        model="claude-sonnet-5-5", max_tokens=100, system="s", stream=True,
        messages=[{"role": "user", "content": f"The reader asks: {question}"}],
    )  # fmt: skip
    async with stream:
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                yield event.delta.text


async def _relay_main(standin_url: str, port: int, ready: Any) -> None:
    """The least a server can do: one process with the SDK and a bare websockets server,
    forwarding each text delta as a frame. Nothing of ours."""
    from websockets.asyncio.server import serve

    client = anthropic.AsyncAnthropic(api_key="bench", base_url=standin_url, max_retries=0)

    async def handle(ws: Any) -> None:
        question = await ws.recv()
        async for text in _deltas(client, question):
            await ws.send(text)
        await ws.send("")

    async with serve(handle, "127.0.0.1", port, compression=None):
        ready.set()
        await asyncio.Future()


def _relay_process(standin_url: str, port: int, ready: Any) -> None:
    asyncio.run(_relay_main(standin_url, port, ready))


async def relayed_stream(port: int, n: int, delay: float) -> tuple[str, list[tuple[int, float]]]:
    await asyncio.sleep(delay)
    question = f"Relayed {n}"
    arrivals = []
    async with connect(f"ws://127.0.0.1:{port}", compression=None, ping_interval=None) as ws:
        await ws.send(question)
        while text := await ws.recv():
            now = time.time()
            arrivals += [(int(m), now) for m in TOKEN.findall(str(text))]
    return question, arrivals


def added_latency(
    standin: StandIn, results: list[tuple[str, list[tuple[int, float]]]]
) -> list[tuple[float, float]]:
    """(when the stand-in wrote the token, how long it took to reach the client)."""
    sent: dict[str, list[float]] = {}
    for request, times in zip(standin.requests, standin.sent_by_request, strict=True):
        content = request["messages"][-1]["content"]
        question = content.rsplit("The reader asks: ", 1)[-1]
        sent[question] = times
    out = []
    for question, arrivals in results:
        for index, arrived in arrivals:
            out.append((sent[question][index], arrived - sent[question][index]))
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", default="moby-dick_epub3.epub")
    parser.add_argument("--asks", type=int, default=100)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=5.0, help="seconds over which streams start")
    args = parser.parse_args()
    settings = Settings()
    embedder = make_embedder(settings)
    standin = StandIn()
    await standin.start()
    async with Bench() as bench:
        pool = await create_pool(bench.url, min_size=1, max_size=4)
        files = LocalStorage(ROOT / ".bookmind" / "bench-files")
        context.bind(settings, pool, files, lambda _: None)
        (user,) = await make_users(bench.url, 1)
        await pool.execute("UPDATE users SET subscription_tier = 'premium' WHERE id = $1", user)
        t = time.perf_counter()
        book_id = await ingest_corpus_book(pool, files, user, args.book)
        passages = await pool.fetchval(
            "SELECT count(*) FROM book_embeddings WHERE book_id = $1", book_id
        )
        log(f"{args.book}: {passages} passages (ingested in {time.perf_counter() - t:.0f} s)")
        texts = [r["content"] for r in await pool.fetch(
            "SELECT content FROM book_embeddings WHERE book_id = $1 ORDER BY random() LIMIT $2",
            book_id, args.asks)]  # fmt: skip
        questions = [("What is meant by " + " ".join(x.split()[3:12]) + "?")[:1000] for x in texts]

        baseline = []
        async with pool.acquire() as conn:
            for q in questions:
                t = time.perf_counter()
                await search(conn, embedder, user, book_id, q, 6)
                baseline.append(time.perf_counter() - t)
        # the streams are one reader's: past the 20 sockets an account may hold
        env = server_env(bench.url, ANTHROPIC_API_KEY="bench", ANTHROPIC_BASE_URL=standin.url,
                         WS_MAX_SOCKETS_PER_USER=str(args.streams + 10))  # fmt: skip
        server = await start_server(env)
        try:
            (token,) = tokens_for([user])
            standin.default = Scenario(tokens=["Done [1]."], delay_s=0)
            await time_to_started(server.ws_url, token, str(book_id), questions[:5])  # warm
            started = await time_to_started(server.ws_url, token, str(book_id), questions)
            log(f"ai.ask -> ai.started over {len(questions)} asks on {passages} passages:")
            log(f"  baseline: retrieval alone    {ms(baseline)}")
            log(f"  bookmind: ask -> started     {ms(started)}")

            tokens = [f"tok{i} " for i in range(args.tokens)]
            standin.default = Scenario(tokens=tokens, delay_s=0.05)
            client = anthropic.AsyncAnthropic(api_key="bench", base_url=standin.url,
                                              max_retries=0)  # fmt: skip
            starts = [args.ramp * n / args.streams for n in range(args.streams)]

            async def timed(runs: Any) -> tuple[float, list[tuple[float, float]]]:
                standin.requests.clear()
                standin.sent_by_request.clear()
                began = time.time()
                return began, added_latency(standin, list(await asyncio.gather(*runs)))

            bare = await timed(bare_stream(client, n, starts[n]) for n in range(args.streams))
            ready = mp.get_context("spawn").Event()
            relay_port = free_port()
            relay = mp.get_context("spawn").Process(
                target=_relay_process, args=(standin.url, relay_port, ready), daemon=True
            )
            relay.start()
            await asyncio.to_thread(ready.wait, 60)
            relayed = await timed(
                relayed_stream(relay_port, n, starts[n]) for n in range(args.streams)
            )
            relay.terminate()
            ours = await timed(
                one_stream(server.ws_url, token, str(book_id), n, starts[n])
                for n in range(args.streams)
            )
            log(f"token latency, {args.streams} streams started over {args.ramp:g} s, "
                f"{args.tokens} tokens each 50 ms apart, stand-in write -> client read:")  # fmt: skip
            # the asks (retrieval, prompt, the call's start) arrive while streams start;
            # after the last start, and a second for its ask, only tokens flow
            settle = args.ramp + 1.0
            phases = {
                "all tokens": (0.0, math.inf),
                "while streams start": (0.0, settle),
                "after the last start": (settle, math.inf),
            }
            for phase, (lo, hi) in phases.items():
                lat = {
                    name: [x for sent, x in run if lo <= sent - began < hi]
                    for name, (began, run) in
                    (("bare", bare), ("relay", relayed), ("ours", ours))
                }  # fmt: skip
                log(f" {phase}:")
                log(
                    f"  baseline: bare SDK client    {ms(lat['bare'])}  ({len(lat['bare'])} tokens)"
                )
                log(f"  baseline: SDK + bare websockets relay process {ms(lat['relay'])}")
                log(
                    f"  bookmind: through the server {ms(lat['ours'])}  ({len(lat['ours'])} tokens)"
                )
                for name, base in (("bare SDK client", "bare"), ("relay process", "relay")):
                    added = [
                        percentile(lat["ours"], p) - percentile(lat[base], p) for p in (50, 99)
                    ]
                    log(f"  added by the server over the {name}: p50 {added[0] * 1000:.1f} ms, "
                        f"p99 {added[1] * 1000:.1f} ms")  # fmt: skip
        finally:
            server.stop()
            await pool.close()
            await standin.stop()


if __name__ == "__main__":
    asyncio.run(main())
