"""Pure reading rules: no I/O."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

from domain.errors import Invalid

COLOR_HEX = {
    "yellow": "#FEF3C7",
    "blue": "#DBEAFE",
    "green": "#D1FAE5",
    "red": "#FEE2E2",
    "purple": "#EDE9FE",
    "orange": "#FFEDD5",
    "brown": "#E7D8C9",
    "pink": "#FCE7F3",
}
# a position at or past this fraction of the book counts as finishing it
COMPLETION_THRESHOLD = 0.99

# a tag cannot contain "<": with that, each "<" is scanned past once and stripping is
# linear (`<[^>]*>` rescans to the end from every "<": 50,000 of them took seconds)
_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")


def word_count(text: str | None) -> int:
    return len(text.split()) if text else 0


def check_span(start_offset: int, end_offset: int) -> None:
    if end_offset < start_offset:
        raise Invalid("end_offset is before start_offset", field="end_offset")


def plain_text(annotation_type: str, content: str | None, transcript: str | None) -> str | None:
    """The searchable text of an annotation: markup stripped, entities decoded, spaces
    folded. A voice note is searched by its transcript."""
    source = transcript if annotation_type == "voice" else content
    if not source:
        return None
    text = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", source))).strip()
    return text or None


# the pace of the last this-many days estimates when a reader will finish a book
PACE_DAYS = 14


def estimated_finish(
    progress: float | None, total_seconds: int, recent_seconds: int, now: datetime
) -> datetime | None:
    """When the reader will finish at their recent pace: the time the rest of the book
    takes at the speed they have read it so far, spread over days at the reading time
    per day of their last PACE_DAYS days. None when finished or with no recent pace."""
    if not progress or progress >= COMPLETION_THRESHOLD or total_seconds <= 0:
        return None
    if recent_seconds <= 0:
        return None
    seconds_left = (1 - progress) * total_seconds / progress
    per_day = recent_seconds / PACE_DAYS
    return now + timedelta(days=seconds_left / per_day)


def session_figures(
    started_at: datetime,
    ended_at: datetime,
    start_page: int | None,
    end_page: int,
    words_read: int,
) -> tuple[int, int, float | None]:
    """Duration in seconds, pages read and words per minute of a finished session."""
    duration = max(0, round((ended_at - started_at).total_seconds()))
    pages = max(0, end_page - start_page) if start_page is not None else 0
    wpm = round(words_read / (duration / 60), 1) if duration > 0 and words_read > 0 else None
    return duration, pages, wpm
