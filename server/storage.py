"""File storage behind one small interface: local disk by default, an S3-compatible bucket
(AWS, Cloudflare R2, MinIO) when S3_BUCKET is set. boto3 blocks, so its calls run in a
thread, never in the event loop's turn."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO

from domain.ports import FileStore as Storage
from server.settings import Settings

__all__ = ["LocalStorage", "S3Storage", "Storage", "make_storage"]

# a file is served in pieces of this size, each read in a thread: memory per download
# stays at one piece whatever the book's size
CHUNK_BYTES = 256 * 1024


async def _pieces(
    read: Callable[[int], bytes], close: Callable[[], object]
) -> AsyncIterator[bytes]:
    try:
        while piece := await asyncio.to_thread(read, CHUNK_BYTES):
            yield piece
    finally:
        await asyncio.to_thread(close)


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        def write() -> None:
            path = self._path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # readers never see half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        handle: BinaryIO = await asyncio.to_thread(self._path(key).open, "rb")
        return _pieces(handle.read, handle.close)

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        await asyncio.to_thread(shutil.rmtree, path, True)


class S3Storage:
    def __init__(self, settings: Settings) -> None:
        import boto3

        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            region_name=settings.s3_region,
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType=content_type
        )

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            try:
                body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            except self.client.exceptions.NoSuchKey:
                raise FileNotFoundError(key) from None
            return body

        return await asyncio.to_thread(read)

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        def open_body() -> Any:
            try:
                return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            except self.client.exceptions.NoSuchKey:
                raise FileNotFoundError(key) from None

        body = await asyncio.to_thread(open_body)
        return _pieces(body.read, body.close)

    async def delete_prefix(self, prefix: str) -> None:
        def delete() -> None:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

        await asyncio.to_thread(delete)


def make_storage(settings: Settings) -> Storage:
    if settings.uses_s3:
        return S3Storage(settings)
    return LocalStorage(settings.data_dir / "files")
