"""Importing another tool's highlights into a book of the reader's library.

`start` checks the file and queues the import; the worker runs it (workers/imports.py):
each entry's quote is found in the book's text (domain/anchoring/quotes.py) and becomes
a highlight at those offsets, with its note, color, tags and original date; notes not on
a highlight and bookmarks come along at their place. Each entry's id is derived from the
reader, the book and the entry's key, so importing the same file again creates nothing
new (the report says `present`).

Which entries are the book's: all of them when the file holds one title (the reader
chose the book; a title may be spelled otherwise), else those of the titles that match
the book's, or whose quotes are mostly found in its text (a reader's own title for the
book, another edition's); the rest are reported `other_book`."""

from __future__ import annotations

import asyncio
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import UUID

import msgspec

from domain.anchoring.quotes import Quote, locate
from domain.anchoring.text import BookText, kindle_location, location_span
from domain.books.access import readable_book
from domain.errors import Invalid, NotFound, NotReady, TooLarge
from domain.imports.formats import FORMATS, Entry, ImportFormatError, detect, parse
from domain.imports.models import (
    EntryStatus,
    ImportJob,
    ImportLine,
    LibraryImport,
    UnmatchedTitle,
)
from domain.reading.models import MAX_SELECTED_CHARS, Color
from domain.sql import Conn, load_queries

Q = load_queries(__file__)
MAX_IMPORT_BYTES = 10 * 1024 * 1024
_NAMESPACE = uuid.UUID("6f1f5a52-4f0c-4c8e-9a43-bd6a3a0e8c11")


def job_from_row(row: Any) -> ImportJob:
    return ImportJob(
        id=row["id"], book_id=row["book_id"], format=row["format"], filename=row["filename"],
        status=row["status"], total=row["total"], done=row["done"],
        created=row["created_count"], present=row["present_count"],
        unmatched=row["unmatched_count"], other_book=row["other_book_count"],
        error=row["error"], report=msgspec.convert(row["report"] or [], list[ImportLine]),
        created_at=row["created_at"], finished_at=row["finished_at"],
    )  # fmt: skip


def read_entries(data: bytes, kind: str | None) -> tuple[str, list[Entry]]:
    """The file's format (as given, else detected) and its entries; Invalid if neither."""
    try:
        kind = kind or detect(data)
        if kind not in FORMATS:
            raise ImportFormatError(f"format is one of {', '.join(FORMATS)}")
        return kind, parse(data, kind)
    except ImportFormatError as exc:
        raise Invalid(str(exc), field="format" if "format is" in str(exc) else "file") from None


async def _read_file(data: bytes, kind: str | None) -> tuple[str, list[Entry]]:
    if not data:
        raise Invalid("the file is empty", field="file")
    if len(data) > MAX_IMPORT_BYTES:
        raise TooLarge(f"an import file is at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")
    found, entries = await asyncio.to_thread(read_entries, data, kind)
    if not entries:
        raise Invalid("the file holds no highlights, notes or bookmarks", field="file")
    return found, entries


async def start(
    conn: Conn, user_id: UUID, book_id: UUID, data: bytes, filename: str | None, kind: str | None
) -> ImportJob:
    book = await readable_book(conn, book_id, user_id)
    if book.processing_status != "completed":
        raise NotReady("the book is not ready yet: import into it once it is read")
    found, entries = await _read_file(data, kind)
    row = await conn.fetchrow(Q.create_import, user_id, book_id, found,
                              (filename or "")[:255] or None, data, len(entries), None)  # fmt: skip
    return job_from_row(row)


async def start_library(
    conn: Conn, user_id: UUID, data: bytes, filename: str | None, kind: str | None
) -> LibraryImport:
    """A whole file into the reader's library: each title matched to one of their books
    (their own first, then public ones they read; the newest of several) gets an import
    of its entries; the titles no book matches are reported."""
    found, entries = await _read_file(data, kind)
    library = await conn.fetch(Q.library_books, user_id)
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.title.casefold(), []).append(entry)
    matched: dict[UUID, list[str]] = {}
    unmatched = []
    for title, group in groups.items():
        book = next((b for b in library if same_title(b["title"] or "", title)), None)
        if book is None:
            unmatched.append(UnmatchedTitle(title=group[0].title, author=group[0].author,
                                            entries=len(group)))  # fmt: skip
        else:
            matched.setdefault(book["id"], []).append(title)
    jobs = []
    for book_id, titles in matched.items():
        total = sum(len(groups[t]) for t in titles)
        row = await conn.fetchrow(Q.create_import, user_id, book_id, found,
                                  (filename or "")[:255] or None, data, total, titles)  # fmt: skip
        jobs.append(job_from_row(row))
    return LibraryImport(imports=jobs, unmatched=unmatched)


async def get(conn: Conn, user_id: UUID, import_id: UUID) -> ImportJob:
    row = await conn.fetchrow(Q.get_import, import_id, user_id)
    if row is None:
        raise NotFound("no such import")
    return job_from_row(row)


# -- placing entries in the book's text -----------------------------------------------


def _plain_title(title: str) -> str:
    folded = unicodedata.normalize("NFKD", title).casefold()
    folded = re.split(r"[:(\[]", folded, maxsplit=1)[0]  # subtitles, editions
    return " ".join(re.findall(r"\w+", folded))


def same_title(a: str, b: str) -> bool:
    x, y = _plain_title(a), _plain_title(b)
    return bool(x and y) and (x == y or x.startswith(y) or y.startswith(x))


def entry_id(user_id: UUID, book_id: UUID, entry: Entry) -> UUID:
    return uuid.uuid5(_NAMESPACE, f"{user_id}:{book_id}:{entry.key}")


@dataclass(frozen=True)
class Placed:
    n: int
    entry: Entry
    start: int | None  # None: not placed
    end: int | None
    confidence: float | None
    other_book: bool = False


def _hint(entry: Entry, book: BookText) -> float | None:
    """Where the file says the entry is, as a fraction of the book: a Kindle location
    is finer than a page (and pages differ between editions more)."""
    if entry.location:
        return min(1.0, location_span(entry.location[0])[0] / max(1, len(book.text)))
    if entry.page:
        return min(1.0, (entry.page - 0.5) / max(1, book.page_count))
    return None


def _window(entry: Entry, book: BookText, exact_locations: bool) -> tuple[int, int] | None:
    """Where the entry surely starts, when the file says: its location, when the file's
    locations are proven BookMind's, else the one chapter of the book it names (KOReader
    writes the chapter's title)."""
    if not exact_locations or entry.location is None:
        return book.chapter_named(entry.chapter)
    return location_span(entry.location[0])


def locations_exact(placed: list[Placed]) -> bool:
    """Whether the file's locations count BookMind's characters (a BookMind export: the
    location of offset o is o // 150 + 1): every highlight placed surely sits in its
    location's window, and at least two say so. A Kindle's own locations count its own
    file's bytes, which this never mistakes for them."""
    sure = [p for p in placed if p.entry.kind == "highlight" and p.entry.location
            and p.start is not None and p.confidence == 1.0]  # fmt: skip
    return len(sure) >= 2 and all(
        kindle_location(p.start or 0) == p.entry.location[0] for p in sure if p.entry.location
    )


def book_titles(entries: list[Entry], book: BookText) -> set[str]:
    """The file's titles (casefolded) that are this book (CPU work: off the loop)."""
    titles = {e.title.casefold() for e in entries}
    if len(titles) <= 1:
        return titles
    ours = {t for t in titles if same_title(t, book.title)}
    for title in titles - ours:
        sample = [e for e in entries if e.title.casefold() == title and e.kind == "highlight"]
        sample = sample[:: max(1, len(sample) // 20)][:20]
        found = sum(1 for e in sample if locate(book.index, Quote(e.text)) is not None)
        if found * 2 > len(sample) > 0:
            ours.add(title)
    return ours


def place(
    entries: list[tuple[int, Entry]],
    book: BookText,
    titles: set[str],
    exact_locations: bool = False,
) -> list[Placed]:
    """Where each entry of the book's `titles` goes in it (CPU work: off the event loop).
    `exact_locations`: the file's locations are BookMind's (locations_exact), so a
    location's window may decide between equal places."""
    out = []
    for n, entry in entries:
        if entry.title.casefold() not in titles:
            out.append(Placed(n, entry, None, None, None, other_book=True))
            continue
        if entry.kind == "bookmark" or (entry.kind == "note" and not entry.text.strip()):
            offset = None
            hint = _hint(entry, book)
            if hint is not None:
                offset = int(hint * len(book.text))
            out.append(Placed(n, entry, offset, offset, None))
            continue
        found = locate(book.index, Quote(entry.text, hint=_hint(entry, book),
                                         window=_window(entry, book, exact_locations)))  # fmt: skip
        if entry.kind == "note" and found is None:  # a note's words are the reader's own
            hint = _hint(entry, book)
            offset = int(hint * len(book.text)) if hint is not None else None
            out.append(Placed(n, entry, offset, offset, None))
        elif found is None or found.end - found.start > MAX_SELECTED_CHARS:
            out.append(Placed(n, entry, None, None, None))
        else:
            out.append(Placed(n, entry, found.start, found.end, round(found.confidence, 3)))
    return out


_COLORS: dict[str, Color] = {c: c for c in get_args(Color)}


def color_of(entry: Entry) -> Color:
    return _COLORS.get((entry.color or "").strip().casefold(), "yellow")


def created_at(entry: Entry) -> datetime:
    return entry.created_at or datetime.now(UTC)


def line(p: Placed, status: EntryStatus, made: UUID | None) -> ImportLine:
    return ImportLine(
        n=p.n, kind=p.entry.kind, status=status, text=p.entry.text[:300],
        title=p.entry.title or None, id=made,
        start_offset=p.start if made else None, end_offset=p.end if made else None,
        confidence=p.confidence if made and p.entry.kind == "highlight" else None,
    )  # fmt: skip
