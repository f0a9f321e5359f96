"""Ingestion in production shape: a web process and a real `taskiq worker` on Redis, as the
Procfile runs them. The worker is killed (its whole process group, like a lost machine) in
the middle of a book; a new worker and the sweeper finish it with no duplicate rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import server_env
from tests.e2e.helpers import register
from tests.services import CORPUS, ROOT, RedisService, running_server
from tests.wsclient import WsClient

pytestmark = pytest.mark.e2e


def _start_worker(env: dict[str, str], name: str) -> subprocess.Popen[bytes]:
    log = ROOT / ".bookmind" / "test-logs" / f"worker-{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "taskiq", "worker", "workers.broker:broker", "workers.tasks",
             "--workers", "1"],
            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        _kill_group(proc)


async def _counts(database_url: str, book_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            """SELECT b.processing_status, b.processing_attempts,
                      (SELECT count(*) FROM book_chapters c WHERE c.book_id = b.id) AS chapters,
                      (SELECT count(DISTINCT chapter_number) FROM book_chapters c
                       WHERE c.book_id = b.id) AS chapter_numbers,
                      (SELECT count(*) FROM book_embeddings e WHERE e.book_id = b.id) AS passages,
                      (SELECT count(DISTINCT chunk_index) FROM book_embeddings e
                       WHERE e.book_id = b.id) AS chunk_indexes
               FROM books b WHERE b.id = $1""",
            book_id,
        )
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


async def test_worker_killed_mid_book_is_retried_without_duplicates(
    database_url: str, redis_service: RedisService, workers: list[subprocess.Popen[bytes]]
) -> None:
    env = server_env(database_url, redis_service.url)
    async with running_server(env) as web:
        # the model's own time: vectors kept by earlier tests would end the book before
        # the kill (the second worker may use them)
        workers.append(_start_worker({**env, "EMBEDDINGS_CACHE": ""}, "first"))
        account = await register(web.base_url)
        ws = WsClient(web.ws_url, account.token, "reader")
        await ws.open()
        async with httpx.AsyncClient(
            base_url=web.base_url + "/api/v1",
            headers={"Authorization": f"Bearer {account.token}"},
            timeout=60,
        ) as http:
            name = "alice-in-wonderland_epub3.epub"
            made = await http.post("/books", files={"file": (name, (CORPUS / name).read_bytes())})
            assert made.status_code == 202, made.text
            book_id = made.json()["id"]
            # the worker has parsed the book and is loading the model / embedding it
            await ws.wait_for(
                lambda f: f.get("event") == "book.processing" and f["data"]["stage"] == "embedding",
                timeout=90,
            )
            _kill_group(workers[0])
            stuck = await _counts(database_url, book_id)
            assert stuck["processing_status"] == "processing" and stuck["passages"] == 0

            workers.append(_start_worker(env, "second"))
            sweep = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "workers.maintenance", "sweep-books", cwd=ROOT,
                env={**os.environ, **env, "INGEST_STALLED_AFTER_S": "0"},
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await sweep.communicate()
            assert sweep.returncode == 0 and b"'retried': 1" in out, out
            done = await ws.wait_for(
                lambda f: f.get("event") in {"book.ready", "book.failed"}, timeout=120
            )
            assert done["event"] == "book.ready", done
            book = (await http.get(f"/books/{book_id}")).json()
            assert book["processing_status"] == "completed"
        await ws.close()
    final = await _counts(database_url, book_id)
    assert final["processing_attempts"] == 2
    assert final["chapters"] == final["chapter_numbers"] > 1
    assert final["passages"] == final["chunk_indexes"] > 40
