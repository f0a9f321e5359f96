from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest

from server.db import init_connection
from tests.mailbox import Mailbox
from tests.services import ROOT, Postgres, RedisService, ServerProcess, running_server
from tests.standin_anthropic import StandIn

VECTORS = ROOT / ".bookmind" / "test-vectors"


def pytest_configure(config: pytest.Config) -> None:
    """The session's processes (this one's `tests.services.settings()`, and every server
    and worker it starts) keep the vectors they compute in one file of the session's: a
    book ingested by a dozen tests goes through the model once. A test that needs the
    model's own time (a worker killed while it embeds) sets EMBEDDINGS_CACHE empty."""
    VECTORS.mkdir(parents=True, exist_ok=True)
    os.environ["EMBEDDINGS_CACHE"] = str(VECTORS / f"{os.getpid()}.sqlite")


def pytest_unconfigure(config: pytest.Config) -> None:
    for path in VECTORS.glob(f"{os.getpid()}.sqlite*"):
        path.unlink()


@pytest.fixture(scope="session")
async def postgres() -> AsyncIterator[Postgres]:
    pg = Postgres()
    await pg.prepare_template()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def redis_service() -> Iterator[RedisService]:
    service = RedisService()
    yield service
    service.stop()


@pytest.fixture(scope="module")
async def standin() -> AsyncIterator[StandIn]:
    """The local stand-in for the model API (one per module: its scenarios are state)."""
    s = StandIn()
    await s.start()
    yield s
    await s.stop()


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on loopback keeping the mail the server sends."""
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
async def database_url(postgres: Postgres) -> AsyncIterator[str]:
    """A migrated database of the module's own."""
    url = await postgres.create_database()
    yield url
    await postgres.drop_database(url)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=8, init=init_connection)
    assert p is not None
    yield p
    await p.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    c = await asyncpg.connect(database_url)
    await init_connection(c)
    tx = c.transaction()
    await tx.start()
    yield c
    await tx.rollback()
    await c.close()


def server_env(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": "test-secret-" + uuid.uuid4().hex,
        "CHANNEL_PREFIX": "t" + uuid.uuid4().hex[:8],
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url or "",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
async def server(database_url: str) -> AsyncIterator[ServerProcess]:
    """One uvicorn process of the app on the module's database (in-process channels)."""
    async with running_server(server_env(database_url)) as proc:
        yield proc


@pytest.fixture
async def http(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.base_url + "/api/v1", timeout=30) as client:
        yield client
