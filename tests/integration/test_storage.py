"""One contract for every storage backend: local disk, and S3 through moto's server on
loopback (a real HTTP S3 endpoint, reached by boto3)."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from server.settings import Settings
from server.storage import LocalStorage, S3Storage, Storage


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path)
        return
    endpoint = request.getfixturevalue("moto_endpoint")
    settings = Settings(s3_endpoint_url=endpoint, s3_bucket="books-test", s3_region="us-east-1",
                        s3_access_key_id="test", s3_secret_access_key="test")  # fmt: skip
    s3 = S3Storage(settings)
    s3.client.create_bucket(Bucket="books-test")
    yield s3


async def test_put_get_and_delete_by_prefix(storage: Storage) -> None:
    await storage.put("books/a/original.epub", b"one", "application/epub+zip")
    await storage.put("books/a/cover.jpg", b"two", "image/jpeg")
    await storage.put("books/b/original.pdf", b"three", "application/pdf")
    assert await storage.get("books/a/original.epub") == b"one"
    await storage.delete_prefix("books/a/")
    with pytest.raises(FileNotFoundError):
        await storage.get("books/a/cover.jpg")
    assert await storage.get("books/b/original.pdf") == b"three"


async def test_missing_object_is_file_not_found(storage: Storage) -> None:
    with pytest.raises(FileNotFoundError):
        await storage.get("books/none/original.pdf")


async def test_stream_gives_the_object_in_pieces(storage: Storage) -> None:
    from server.storage import CHUNK_BYTES

    data = bytes(range(256)) * (CHUNK_BYTES // 100)  # a little over two and a half pieces
    await storage.put("books/s/original.pdf", data, "application/pdf")
    pieces = [p async for p in await storage.stream("books/s/original.pdf")]
    assert b"".join(pieces) == data
    assert len(pieces) == 3 and all(len(p) <= CHUNK_BYTES for p in pieces)
    with pytest.raises(FileNotFoundError):
        await storage.stream("books/none/original.pdf")


async def test_local_keys_cannot_escape_the_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    with pytest.raises(ValueError, match="escapes"):
        await store.put("../../etc/owned", b"x", "text/plain")


def test_blocking_calls_run_off_the_event_loop_thread() -> None:
    # boto3 is blocking: S3Storage wraps every call in asyncio.to_thread (checked here by
    # reading the code path's thread, not by timing)
    seen: list[str] = []

    class Client:
        def put_object(self, **_: object) -> None:
            seen.append(threading.current_thread().name)

    import asyncio

    s3 = S3Storage.__new__(S3Storage)
    s3.bucket = "b"
    s3.client = Client()
    asyncio.run(s3.put("k", b"x", "text/plain"))
    assert seen and seen[0] != threading.main_thread().name
