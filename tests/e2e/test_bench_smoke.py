"""Each benchmark runs end to end at a tiny size and prints its figures next to its
baseline (the real runs are `make bench`; figures in docs/benchmarks.md). The book is a
short DOCX: a smoke run checks the bench works, and each minute here is one of
`make test`'s fifteen."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.services import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SMALL_BOOK = "autogen-paper-excerpt.docx"


def _run(module: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_fanout_smoke() -> None:
    out = _run("tests.bench.bench_fanout", "--subscribers", "20", "--processes", "1",
               "--rates", "10", "--step", "2")  # fmt: skip
    assert re.search(r"bare\s+10 events/s -> +\d+ deliveries/s", out), out
    assert re.search(r"bookmind\s+10 events/s -> +\d+ deliveries/s \(100\.0%", out), out
    closed = _run("tests.bench.bench_fanout", "--closed", "2", "--subscribers", "20",
                  "--processes", "1")  # fmt: skip
    assert re.search(r"bookmind +closed loop: +[1-9]\d* writes/s", closed), closed
    assert re.search(r"bare +closed loop: +[1-9]\d* writes/s", closed), closed
    assert len(re.findall(r"CPU per write \(µs\): server \d+, subscribers \d+, writer \d+",
                          closed)) == 2, closed  # fmt: skip


def test_writes_smoke() -> None:
    out = _run("tests.bench.bench_writes", "--devices", "10", "--processes", "1", "--seconds", "1")
    assert re.search(r"baseline: bare INSERT\+COMMIT +\d+ acknowledged writes/s", out), out
    assert re.search(r"baseline: highlight row INSERT\+COMMIT +\d+ acknowledged writes/s", out)
    assert re.search(r"baseline: bare websockets ack +[1-9]\d* acknowledged writes/s", out), out
    assert re.search(r"bookmind: 1 web process\(es\) +[1-9]\d* acknowledged writes/s", out), out
    # each run's CPU per write: the server's and the clients' own, then the machine's
    assert len(re.findall(r"CPU per write \(µs\): .*clients \d+, rest -?\d+; the machine \d+",
                          out)) == 4, out  # fmt: skip


def test_capacity_smoke() -> None:
    out = _run("tests.bench.bench_capacity", "--connections", "50", "--processes", "1",
               "--idle", "1")  # fmt: skip
    assert re.search(r"bare websockets +50 connections", out), out
    assert re.search(r"bookmind +50 connections: [\d.]+ KiB each", out), out


def test_ingest_smoke() -> None:
    out = _run("tests.bench.bench_ingest", "--book", SMALL_BOOK)
    assert re.search(r"pipeline total +[\d.]+ s", out), out
    assert re.search(r"raw encode +[\d.]+ s", out), out
    assert "overhead over raw parse + encode" in out


def test_search_smoke() -> None:
    out = _run("tests.bench.bench_search", "--book", SMALL_BOOK,
               "--rows", "2000", "--queries", "10", "--library", "1,3")  # fmt: skip
    assert re.search(r"whole search +p50 [\d.]+ ms", out), out
    assert re.search(r"BM25 \(postings\) +p50 [\d.]+ ms", out), out
    assert re.search(r"a library of +3 books \(\d+ windows\): p50 [\d.]+ ms", out), out
    assert re.search(r"HNSW ef_search +40 .* recall@10 [\d.]+", out), out


def test_ai_smoke() -> None:
    out = _run("tests.bench.bench_ai", "--book", SMALL_BOOK, "--asks", "3",
               "--streams", "3", "--tokens", "5", "--ramp", "0.3")  # fmt: skip
    assert re.search(r"bookmind: ask -> started +p50 +[\d.]+ ms", out), out
    assert re.search(r"baseline: bare SDK client +p50 +[\d.]+ ms.*\(15 tokens\)", out), out
    assert re.search(r"bookmind: through the server .*\(15 tokens\)", out), out


def test_feed_smoke() -> None:
    out = _run("tests.bench.bench_feed", "--followers", "30", "--connected", "10", "--writes",
               "5", "--processes", "1")  # fmt: skip
    assert re.search(r"baseline: author with no followers +write ack p50", out), out
    assert "items that reached all 10 connected followers: 5/5" in out, out


def test_stalls_smoke() -> None:
    out = _run("tests.bench.bench_stalls", "--rounds", "1", "--only", "login")
    assert re.search(r"baseline: no attack +\d+ probes: p50 [\d.]+", out), out
    assert re.search(r"5 MB login body +answered \[413\]; \d+ probes", out), out


def test_anchoring_smoke() -> None:
    out = _run("tests.bench.bench_anchoring", "--highlights", "20", "--books", "1")
    for change in ("typography", "ocr", "front matter", "reflow", "all together"):
        assert re.search(rf"{change} +bookmind +[\d.]+% +[\d.]+% +[\d.]+% +0\.0%", out), out
        assert re.search(rf"{change} +baseline +[\d.]+%", out), out


def test_ingest_stalls_smoke() -> None:
    out = _run("tests.bench.bench_ingest_stalls", "--book", SMALL_BOOK)
    assert re.search(r"baseline, idle server: +\d+ probes: p50 [\d.]+", out), out
    assert re.search(rf"ingesting {SMALL_BOOK} \(#1\): \d+ probes: .* ready in [\d.]+ s", out), out
