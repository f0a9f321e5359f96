"""Real services for the tests: PostgreSQL + pgvector (pgserver, or TEST_DATABASE_URL),
Redis (REDIS_URL, default the local one; started here when nothing answers and
redis-server is installed), and uvicorn processes of our app."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import redis

from server.migrate import migrate
from server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# the shared corpus lies beside the checkout (as in CI); BOOKMIND_CORPUS points elsewhere
CORPUS = Path(os.environ.get("BOOKMIND_CORPUS", ROOT.parent / "shared" / "corpus"))
TEMPLATE_DB = "bookmind_template"


def session_settings(**changes: object) -> Settings:
    """Settings for code the test runs in its own process: the defaults, with the
    session's vectors kept (tests/conftest.py)."""
    return Settings(embeddings_cache=os.environ.get("EMBEDDINGS_CACHE", ""), **changes)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    """`url` with its database replaced by `name` (query, e.g. a socket host, kept)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class Postgres:
    """One PostgreSQL server for the test session; a migrated template database from which
    each test module clones its own database in milliseconds."""

    def __init__(self, pgdata: Path = ROOT / ".bookmind" / "test-pg") -> None:
        self.handle = None
        url = os.environ.get("TEST_DATABASE_URL")
        if url is None:
            import pgserver

            pgdata.parent.mkdir(parents=True, exist_ok=True)
            self.handle = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
            url = str(self.handle.get_uri("postgres"))
        self.admin_url = url

    async def prepare_template(self) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"')
        finally:
            await conn.close()
        await migrate(with_database(self.admin_url, TEMPLATE_DB))

    async def create_database(self, *, migrated: bool = True) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            template = f' TEMPLATE "{TEMPLATE_DB}" STRATEGY FILE_COPY' if migrated else ""
            await conn.execute(f'CREATE DATABASE "{name}"{template}')
        finally:
            await conn.close()
        return with_database(self.admin_url, name)

    async def drop_database(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.cleanup()


class RedisService:
    def __init__(self) -> None:
        self.url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")
        self.started: subprocess.Popen[bytes] | None = None
        if not self._answers():
            self._start()

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis.from_url(self.url, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def _start(self) -> None:
        binary = shutil.which("redis-server")
        parts = urlsplit(self.url)
        if binary is None or parts.hostname not in {"127.0.0.1", "localhost"}:
            raise RuntimeError(
                f"nothing answers at REDIS_URL={self.url} and no local redis-server is "
                "installed to start: install Redis (apt-get install redis-server) or set REDIS_URL"
            )
        cmd = [binary, "--port", str(parts.port or 6379), "--bind", "127.0.0.1",
               "--save", "", "--appendonly", "no"]  # fmt: skip
        self.started = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._answers():
            if time.monotonic() > deadline:
                raise RuntimeError("started redis-server but it does not answer")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.started is not None:
            self.started.terminate()
            self.started.wait(10)


@dataclass
class ServerProcess:
    """A real uvicorn process running our app."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        logs = ROOT / ".bookmind" / "test-logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"uvicorn-{self.port}.log"
        cmd = [sys.executable, "-m", "server.web"]
        env = {**os.environ, **self.env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)

    async def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"server exited early:\n{self.logs()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/readyz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"server not ready after {timeout}s:\n{self.logs()}")
                await asyncio.sleep(0.1)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def stop(self, sig: int | None = None) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        if sig is None:
            self.proc.terminate()
        else:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            # a deploy sends SIGTERM too: a server that does not end on it is a defect
            if sig is None:
                raise AssertionError(
                    f"the server ignored SIGTERM for 15 s:\n{self.logs()}"
                ) from None


@contextlib.asynccontextmanager
async def running_server(env: dict[str, str]) -> AsyncIterator[ServerProcess]:
    """A started, ready uvicorn process of the app, stopped on exit."""
    proc = ServerProcess(env)
    proc.start()
    try:
        await proc.wait_ready()
        yield proc
    finally:
        proc.stop()
