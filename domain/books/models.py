"""Books and chapters as the API shows them, and the commands that change them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType

Visibility = Literal["private", "public"]
Title = Annotated[str, Meta(min_length=1, max_length=500)]
Short = Annotated[str, Meta(max_length=200)]


class BookPatch(Struct, forbid_unknown_fields=True, kw_only=True):
    title: Title | UnsetType = UNSET
    author: Short | UnsetType | None = UNSET
    description: Annotated[str, Meta(max_length=10000)] | UnsetType | None = UNSET
    genre: Short | UnsetType | None = UNSET
    language: Annotated[str, Meta(min_length=2, max_length=16)] | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET
    # ISBN-10 or ISBN-13, hyphens and spaces allowed; stored as both forms when it has both
    isbn: Annotated[str, Meta(max_length=32)] | UnsetType | None = UNSET
    publisher: Short | UnsetType | None = UNSET
    published_date: date | UnsetType | None = UNSET


class Book(Struct, kw_only=True):
    id: UUID
    user_id: UUID
    title: str
    author: str | None
    description: str | None
    language: str
    genre: str | None
    # from the file (EPUB's OPF, PDF's info and first pages, DOCX's core properties) or
    # set by the owner
    isbn_10: str | None
    isbn_13: str | None
    publisher: str | None
    published_date: date | None
    page_count: int | None
    word_count: int | None
    file_type: str | None
    file_size: int | None
    original_filename: str | None
    file_sha256: str | None
    processing_status: str
    processing_error: str | None
    # what ingestion could not read, e.g. pages without a usable text layer
    warnings: list[str]
    processing_completed_at: datetime | None
    difficulty_level: int | None
    reading_time_minutes: int | None
    topics: list[Any]
    key_concepts: list[Any]
    # a spoiler-free overview, written after ingestion (null until then)
    ai_summary: str | None
    visibility: str
    total_highlights: int
    total_bookmarks: int
    community_highlights_count: int
    # readers' ratings (1-5): their average and count
    community_rating: float | None
    ratings_count: int
    # readers who opened it, and the share of them who finished it
    readers_count: int
    completion_rate_percent: int
    # quote cards made from its highlights, and those by readers other than its owner
    total_shares: int
    community_shares_count: int
    cover_image_url: str | None
    created_at: datetime
    updated_at: datetime


class ChapterSummary(Struct, kw_only=True):
    id: UUID
    chapter_number: int
    title: str | None
    start_page: int | None
    end_page: int | None
    start_offset: int | None
    end_offset: int | None
    word_count: int | None
    ai_summary: str | None
    key_points: list[Any]


class ChapterContent(ChapterSummary, kw_only=True):
    content: str | None


class Processing(Struct):
    """`book.processing` data."""

    book_id: UUID
    stage: str
    percent: int


class Failed(Struct):
    """`book.failed` data."""

    book_id: UUID
    error: str


class BookRefData(Struct):
    """`book.deleted` data."""

    book_id: UUID
