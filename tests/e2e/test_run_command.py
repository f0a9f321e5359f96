"""`make run`'s program (`python -m server.run`): embedded defaults with no environment,
and web + worker + scheduler under honcho with Redis, two at once on one database."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.services import ROOT, RedisService, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# variables that would switch a part away from its embedded default
_PRODUCTION_VARS = ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "ANTHROPIC_API_KEY", "JWT_SECRET")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # inside the checkout: pgserver runs PostgreSQL as its own user, which must reach it
    path = ROOT / ".bookmind" / f"run-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


_LOGS: dict[int, Path] = {}


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if k not in _PRODUCTION_VARS}
    tag = uuid.uuid4().hex[:8]
    log = ROOT / ".bookmind" / "test-logs" / f"run-{tag}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.run", tag],
            cwd=ROOT,
            env={**base, "LOG_LEVEL": "WARNING", **env},
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    _LOGS[proc.pid] = log
    return proc


async def _wait_ready(
    port: int, proc: subprocess.Popen[bytes], timeout: float = 60
) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout * 10)):
            if proc.poll() is not None:
                raise AssertionError(_LOGS[proc.pid].read_text()[-3000:])
            try:
                resp = await client.get(f"http://127.0.0.1:{port}/readyz")
                if resp.status_code == 200:
                    body: dict[str, object] = resp.json()
                    return body
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"no /readyz 200 on port {port}")


def _stop(proc: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """SIGTERM the run command; return its descendants still alive afterwards."""
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0 or proc.returncode in (-signal.SIGTERM, 143)
    _, alive = psutil.wait_procs(children, timeout=15)
    return [p for p in alive if "postgres" not in p.name()]


async def test_no_environment_serves_on_embedded_defaults(data_dir: Path) -> None:
    port = free_port()
    proc = _start({"DATA_DIR": str(data_dir), "PORT": str(port)})
    try:
        body = await _wait_ready(port, proc)
        assert body["checks"] == {"database": "ok", "broker": "ok"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1") as client:
            resp = await client.post(
                "/auth/register",
                json={"email": "e@x.io", "username": "embedded", "password": "p" * 10},
            )
            assert resp.status_code == 201
        assert (data_dir / "pg" / "PG_VERSION").exists()
    finally:
        assert _stop(proc) == []
    # the embedded PostgreSQL it started stops with it
    pgdata = str((data_dir / "pg").resolve())
    _, alive = psutil.wait_procs(_postgres_of(pgdata), timeout=15)
    assert alive == [], [p.cmdline() for p in alive]


def _postgres_of(pgdata: str) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = p.info["cmdline"] or []
        if cmdline and cmdline[0].endswith("postgres") and pgdata in cmdline:
            found.append(p)
    return found


async def test_two_runs_with_redis_share_one_database(
    database_url: str, redis_service: RedisService
) -> None:
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_service.url,
        "CHANNEL_PREFIX": "run" + uuid.uuid4().hex[:6],
        "JWT_SECRET": uuid.uuid4().hex * 2,
    }
    ports = [free_port(), free_port()]
    procs = [_start({**env, "PORT": str(p)}) for p in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            await _wait_ready(port, proc)
        names = {
            " ".join(c.cmdline())
            for p in procs
            for c in psutil.Process(p.pid).children(recursive=True)
        }
        assert any("taskiq worker" in n for n in names)
        assert any("taskiq scheduler" in n for n in names)
        # a user made through one process logs in through the other
        async with httpx.AsyncClient() as client:
            made = await client.post(
                f"http://127.0.0.1:{ports[0]}/api/v1/auth/register",
                json={"email": "r@x.io", "username": "twoprocs", "password": "p" * 10},
            )
            assert made.status_code == 201
            login = await client.post(
                f"http://127.0.0.1:{ports[1]}/api/v1/auth/login",
                json={"login": "twoprocs", "password": "p" * 10},
            )
            assert login.status_code == 200
    finally:
        leftovers = [_stop(p) for p in procs]
    assert leftovers == [[], []]
