"""The reader's copy of their account: a ZIP of JSON files (profile, books, progress,
positions, sessions, highlights, bookmarks, annotations, conversations, shares,
collections, follows) and the original files of the books they uploaded.

Streamed, never built in memory: rows come from a cursor and files from storage in
pieces, each written into the ZIP as it arrives and handed on (a ZIP written forward,
with data descriptors); what is held at once is a piece or two. The tables are read in
one repeatable-read transaction, so the JSON files agree with one another."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from domain.books.operations import file_key
from domain.ports import FileStore
from domain.sql import load_queries

Q = load_queries(__file__, "archive.sql")
PIECE = 256 * 1024  # bytes handed on at a time
TABLES = ["profile", "books", "progress", "positions", "sessions", "highlights", "bookmarks",
          "annotations", "conversations", "shares", "collections", "follows"]  # fmt: skip


class _Sink:
    """Where the ZIP is written: bytes kept until taken (no tell/seek: zipfile then
    writes forward, sizes after each file)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts, self.size = [], 0
        return data


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in " ._-()" else "_" for c in name).strip(" .")
    return cleaned[:150] or "book"


async def archive(pool: asyncpg.Pool, files: FileStore, user_id: UUID) -> AsyncIterator[bytes]:
    sink = _Sink()
    now = datetime.now(UTC)
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
            for table in TABLES:
                with zf.open(zipfile.ZipInfo(f"{table}.json", stamp), "w") as out:
                    out.write(b"[")
                    first = True
                    async for record in conn.cursor(getattr(Q, table), user_id, prefetch=200):
                        out.write((b"\n" if first else b",\n") + record[0].encode())
                        first = False
                        if sink.size >= PIECE:
                            yield sink.take()
                    out.write(b"\n]\n")
                yield sink.take()
            owned = await conn.fetch(Q.own_files, user_id)
        for book in owned:
            name = _safe_name(book["original_filename"] or f"book.{book['file_type']}")
            try:
                pieces = await files.stream(file_key(book["id"], book["file_type"]))
            except FileNotFoundError:
                continue
            info = zipfile.ZipInfo(f"files/{book['id']}/{name}", stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as out:
                async for piece in pieces:
                    await asyncio.to_thread(out.write, piece)  # compressing: off the loop
                    if sink.size >= PIECE:
                        yield sink.take()
            yield sink.take()
    yield sink.take()
