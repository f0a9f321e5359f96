"""An import's wire shape: the job, its progress, and per entry what became of it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from msgspec import Struct

ImportStatus = Literal["queued", "running", "completed", "failed"]
# created: a new highlight (bookmark, note); present: made by an earlier import of the
# same entry; unmatched: its words are not in this book (or not surely in one place);
# other_book: the entry is for another title in a file of several books
EntryStatus = Literal["created", "present", "unmatched", "other_book"]


class ImportLine(Struct, kw_only=True, omit_defaults=True):
    n: int  # the entry's place in the file, from 1
    kind: str  # highlight, note, bookmark
    status: EntryStatus
    text: str  # the entry's words (its first 300 characters)
    title: str | None = None
    id: UUID | None = None  # what it became
    start_offset: int | None = None
    end_offset: int | None = None
    confidence: float | None = None  # 1.0 exact; below, an approximate match


class ImportJob(Struct, kw_only=True):
    id: UUID
    book_id: UUID
    format: str
    filename: str | None
    status: ImportStatus
    total: int
    done: int
    created: int
    present: int
    unmatched: int
    other_book: int
    error: str | None
    report: list[ImportLine]
    created_at: datetime
    finished_at: datetime | None


class ImportProgress(Struct, kw_only=True):
    import_id: UUID
    book_id: UUID
    done: int
    total: int


class UnmatchedTitle(Struct, kw_only=True):
    """A book in the file that is not in the reader's library."""

    title: str
    author: str | None
    entries: int


class LibraryImport(Struct, kw_only=True):
    """A whole file into the library: an import per book it matched, and the rest."""

    imports: list[ImportJob]
    unmatched: list[UnmatchedTitle]
