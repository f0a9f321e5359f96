"""Issue 13 §1: how long other readers wait while one account sends the requests that
once stalled a web process. A separate process polls `/healthz` every 10 ms during each
attack; the baseline is the same probe with no attack, in the same run.

    python -m tests.bench.bench_stalls [--rounds 3] [--only login]
"""

from __future__ import annotations

import argparse
import asyncio

from tests import attacks
from tests.bench.harness import (
    Bench,
    log,
    make_books,
    make_users,
    server_env,
    start_server,
    tokens_for,
)


async def main(rounds: int, only: str | None) -> None:
    async with Bench() as bench:
        server = await start_server(server_env(bench.url))
        try:
            (user,) = await make_users(bench.url, 1)
            (book,) = await make_books(bench.url, [user], public=False)
            (token,) = tokens_for([user])
            target = attacks.Target(server.base_url, token, str(book))
            async with attacks.probing(server.base_url) as idle:
                await asyncio.sleep(2)
            log(f"baseline: no attack                         {idle[0].summary()}")
            for name, attack in attacks.ATTACKS.items():
                if only is not None and only not in name:
                    continue
                for _ in range(rounds):
                    async with attacks.probing(server.base_url) as probe:
                        codes = await attack(target)
                    log(f"{name:<42} answered {codes}; {probe[0].summary()}")
        finally:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="run the attacks whose name contains this")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.only))
