"""`make bench`: every benchmark at its issue's size, one after another."""

from __future__ import annotations

import subprocess
import sys

BENCHES = [
    ["tests.bench.bench_fanout", "--subscribers", "1000", "--processes", "3"],
    ["tests.bench.bench_writes", "--devices", "200", "--processes", "2"],
    ["tests.bench.bench_capacity", "--connections", "10000", "--processes", "4"],
    ["tests.bench.bench_ingest"],
    ["tests.bench.bench_search"],
    ["tests.bench.bench_retrieval"],
    ["tests.bench.bench_anchoring"],
    ["tests.bench.bench_ai"],
    ["tests.bench.bench_feed"],
    ["tests.bench.bench_stalls"],
    ["tests.bench.bench_ingest_stalls"],
    ["tests.bench.fuzz_openapi"],
]

if __name__ == "__main__":
    for bench in BENCHES:
        print(f"$ python -m {' '.join(bench)}", flush=True)
        subprocess.run([sys.executable, "-m", *bench], check=True)
