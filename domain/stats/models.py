"""Reading statistics as the API shows them (PROTOCOL.md §3 stats)."""

from __future__ import annotations

from datetime import date

from msgspec import Struct


class UserStats(Struct, kw_only=True):
    total_books: int
    completed_books: int
    total_highlights: int
    total_bookmarks: int
    total_sessions: int
    total_reading_time: int  # seconds
    average_reading_speed: float  # words per minute over the sessions that measured it
    quotes_shared: int
    reading_streak: int  # consecutive days with a session, in the reader's time zone


class BookStats(Struct, kw_only=True):
    unique_highlighters: int
    total_highlights: int
    total_shares: int
    unique_readers: int
    average_completion_rate: float  # 0..1, over everyone who opened the book


class ReadingDay(Struct, kw_only=True):
    date: date  # in the reader's time zone
    seconds: int
    pages: int
    sessions: int


class ReadingDays(Struct, kw_only=True):
    items: list[ReadingDay]
