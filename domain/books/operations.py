"""Books: upload (stored, then queued for ingestion), read, change, delete.

A private book and everything on it belongs to its owner; a public one can be read by
anyone signed in (domain/books/access.py)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import PurePath
from typing import Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.books import isbn
from domain.books.access import BookRef, readable_book
from domain.books.detect import detect_type
from domain.books.fingerprint import partial_md5
from domain.books.models import (
    Book,
    BookPatch,
    BookRefData,
    ChapterContent,
    ChapterSummary,
    Processing,
)
from domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    TooLarge,
    UnsupportedType,
)
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.patches import patch_fields
from domain.ports import FileStore
from domain.sql import Conn, load_queries
from domain.writes import Written

Q = load_queries(
    __file__,
    book_columns=", ".join(Book.__struct_fields__),
    chapter_columns=", ".join(ChapterSummary.__struct_fields__),
)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "epub": "application/epub+zip",
    "mobi": "application/x-mobipocket-ebook",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def book_from_row(row: Any) -> Book:
    return msgspec.convert({k: row[k] for k in Book.__struct_fields__}, Book)


def file_key(book_id: UUID, kind: str) -> str:
    return f"books/{book_id}/original.{kind}"


def cover_key(book_id: UUID) -> str:
    return f"books/{book_id}/cover.jpg"


def title_from_filename(filename: str | None) -> str:
    stem = PurePath(filename or "").stem.replace("_", " ").strip()
    return stem[:500] or "Untitled"


async def upload(
    conn: Conn,
    files: FileStore,
    user_id: UUID,
    data: bytes,
    *,
    filename: str | None,
    title: str | None,
    author: str | None,
    visibility: str,
    max_bytes: int,
    per_hour: int = 20,
) -> Written[Book]:
    """Store the file and record the book as `pending`; the caller queues ingestion. At
    most `per_hour` uploads per reader in any hour (each costs parsing and embedding)."""
    if not data:
        raise Invalid("the file is empty", field="file")
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than {max_bytes} bytes")
    # both are proportional to the file: off the event loop
    kind, digest, document_id = await asyncio.to_thread(_sniff, data)
    if kind is None:
        raise UnsupportedType("not a PDF, EPUB, MOBI or DOCX file")
    await _within_upload_rate(conn, user_id, per_hour)  # before storing anything
    book_id = uuid.uuid4()
    key = file_key(book_id, kind)
    await files.put(key, data, CONTENT_TYPES[kind])
    try:
        async with conn.transaction():
            await conn.execute(Q.lock_uploads, user_id)
            await _within_upload_rate(conn, user_id, per_hour)  # again, under the lock
            row = await conn.fetchrow(
                Q.insert_book, book_id, user_id, title or title_from_filename(filename), author,
                visibility, kind, len(data), key, filename, digest, document_id,
            )  # fmt: skip
            book = book_from_row(row)
            stored = Processing(book_id, "stored", 0)
            pending = [Event(user_channel(user_id), ev.BOOK_PROCESSING, stored)]
            return Written(book, await append_events(conn, pending, None))
    except BaseException:
        await files.delete_prefix(f"books/{book_id}/")  # no orphan file
        raise


async def replace_file(
    conn: Conn,
    files: FileStore,
    user_id: UUID,
    book_id: UUID,
    data: bytes,
    *,
    filename: str | None,
    max_bytes: int,
    per_hour: int = 20,
) -> Written[Book]:
    """Another edition's file for the owner's book: stored, the book `pending` again; the
    caller queues ingestion, which re-places every reader's marks in the new text
    (domain/anchoring/reanchor.py). Counts as an upload in the hourly limit. Only the
    owner (others: 404, or 403 on a public book), and not while the book is being read."""
    if not data:
        raise Invalid("the file is empty", field="file")
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than {max_bytes} bytes")
    book = await readable_book(conn, book_id, user_id)
    if book.user_id != user_id:
        raise Forbidden("only the book's owner may replace its file")
    if book.processing_status not in {"completed", "failed"}:
        raise Conflict("the book is being read: replace its file once it is ready")
    kind, digest, document_id = await asyncio.to_thread(_sniff, data)
    if kind is None:
        raise UnsupportedType("not a PDF, EPUB, MOBI or DOCX file")
    await _within_upload_rate(conn, user_id, per_hour)
    old = await conn.fetchrow(Q.book_by_id, book_id)
    key = file_key(book_id, kind)
    await files.put(key, data, CONTENT_TYPES[kind])
    async with conn.transaction():
        await conn.execute(Q.lock_uploads, user_id)
        await _within_upload_rate(conn, user_id, per_hour)
        row = await conn.fetchrow(Q.replace_file, book_id, user_id, kind, len(data), key,
                                  filename, digest, document_id)  # fmt: skip
        if row is None:  # began being read, or went away, since the check
            raise Conflict("the book is being read: replace its file once it is ready")
        await conn.execute(Q.record_replacement, book_id, user_id)
        changed = book_from_row(row)
        pending = [Event(user_channel(user_id), ev.BOOK_PROCESSING,
                         Processing(book_id, "stored", 0))]  # fmt: skip
        written = Written(changed, await append_events(conn, pending, None))
    if old is not None and old["file_type"] and old["file_type"] != kind:
        await files.delete_prefix(file_key(book_id, old["file_type"]))  # the other edition
    return written


async def _within_upload_rate(conn: Conn, user_id: UUID, per_hour: int) -> None:
    recent = await conn.fetchrow(Q.uploads_this_hour, user_id)
    assert recent is not None
    if recent["n"] >= per_hour:
        raise RateLimited(f"at most {per_hour} uploads an hour",
                          retry_after_s=max(1, recent["wait_s"] or 1))  # fmt: skip


def _sniff(data: bytes) -> tuple[str | None, str, str]:
    """The type, the SHA-256 (same-file reuse) and KOReader's document id (kosync)."""
    kind = detect_type(data)
    if kind is None:
        return None, "", ""
    return kind, hashlib.sha256(data).hexdigest(), partial_md5(data)


async def get(conn: Conn, user_id: UUID, book_id: UUID) -> Book:
    await readable_book(conn, book_id, user_id)
    return book_from_row(await conn.fetchrow(Q.book_by_id, book_id))


async def _owned(conn: Conn, user_id: UUID, book_id: UUID) -> BookRef:
    book = await readable_book(conn, book_id, user_id)
    if book.user_id != user_id:
        raise Forbidden("only the owner can change this book")
    return book


class BookChange(msgspec.Struct, frozen=True):
    book: Book
    closed: bool  # turned private: nobody but the owner may read it from now on


async def update(conn: Conn, user_id: UUID, book_id: UUID, patch: BookPatch) -> BookChange:
    """Change the owner's fields; `closed` when the book just turned private (its other
    readers' subscriptions must end)."""
    given, value = patch_fields(patch)
    isbn_10, isbn_13 = _isbn_forms(value("isbn"))

    before = await _owned(conn, user_id, book_id)
    row = await conn.fetchrow(
        Q.update_book, book_id, value("title"), given("author"), value("author"),
        given("description"), value("description"), given("genre"), value("genre"),
        value("language"), value("visibility"), given("isbn"), isbn_10, isbn_13,
        given("publisher"), value("publisher"), given("published_date"),
        value("published_date"),
    )  # fmt: skip
    book = book_from_row(row)
    return BookChange(book, before.visibility == "public" and book.visibility != "public")


def _isbn_forms(raw: str | None) -> tuple[str | None, str | None]:
    """Both forms of the ISBN the owner gave (None clears them); one that fails its
    check digit is refused, so a typo never reaches a catalog lookup."""
    if raw is None:
        return None, None
    found = isbn.forms(raw)
    if found is None:
        raise Invalid("not a valid ISBN-10 or ISBN-13 (check digit)", field="isbn")
    return found


async def delete(
    conn: Conn, files: FileStore, user_id: UUID, book_id: UUID
) -> Written[BookRefData]:
    """Remove the book and all that hangs off it (chapters, passages, highlights …),
    then its files. While other readers have highlights, notes or conversations on it,
    it is only hidden from everyone (their data kept, each told `book.deleted`) and
    purged once nobody has data on it (`purge_deleted`)."""
    async with conn.transaction():
        await _owned(conn, user_id, book_id)
        stored, hidden = await _retire(conn, user_id, book_id)
    if not hidden:
        await files.delete_prefix(f"books/{book_id}/")
    return Written(BookRefData(book_id), stored)


async def retire_all(conn: Conn, files: FileStore, user_id: UUID) -> list[StoredEvent]:
    """Every book of a reader whose account goes: each one deleted, or hidden while
    others have data on it (as `delete` does)."""
    stored: list[StoredEvent] = []
    for row in await conn.fetch(Q.books_of_owner, user_id):
        async with conn.transaction():
            events, hidden = await _retire(conn, user_id, row["id"])
        stored += events
        if not hidden:
            await files.delete_prefix(f"books/{row['id']}/")
    return stored


async def _retire(conn: Conn, owner: UUID, book_id: UUID) -> tuple[list[StoredEvent], bool]:
    """In the caller's transaction: delete the book, or hide it when other readers have
    data on it; `book.deleted` to everyone concerned. True when it was only hidden."""
    others = [r["user_id"] for r in await conn.fetch(Q.readers_with_data, book_id, owner)]
    await conn.execute(Q.soft_delete_book if others else Q.delete_book, book_id)
    gone = BookRefData(book_id)
    pending = [Event(user_channel(u), ev.BOOK_DELETED, gone) for u in [owner, *others]]
    return await append_events(conn, pending, None), bool(others)


async def purge_deleted(conn: Conn, files: FileStore, batch: int = 500) -> int:
    """Purge the deleted books nobody has data on any more, with their files."""
    total = 0
    while ids := [r["id"] for r in await conn.fetch(Q.purge_deleted_books, batch)]:
        for book_id in ids:
            await files.delete_prefix(f"books/{book_id}/")
        total += len(ids)
    return total


async def chapters(conn: Conn, user_id: UUID, book_id: UUID) -> list[ChapterSummary]:
    await readable_book(conn, book_id, user_id)
    rows = await conn.fetch(Q.chapters, book_id)
    return [msgspec.convert(dict(r), ChapterSummary) for r in rows]


async def chapter(conn: Conn, user_id: UUID, book_id: UUID, number: int) -> ChapterContent:
    await readable_book(conn, book_id, user_id)
    row = await conn.fetchrow(Q.chapter, book_id, number)
    if row is None:
        raise NotFound("no such chapter")
    return msgspec.convert(dict(row), ChapterContent)
