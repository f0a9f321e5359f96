"""A book's whole text as its offsets count it, built from its stored chapters and
normalised once for finding quotes in (imports, re-anchoring)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

from domain.anchoring.quotes import Normalised, normalise
from domain.sql import load_queries

Q = load_queries(__file__)
# a Kindle location counts about 150 bytes; BookMind's exports write offset // 150 + 1
CHARS_PER_LOCATION = 150


def kindle_location(offset: int) -> int:
    return offset // CHARS_PER_LOCATION + 1


def location_span(location: int) -> tuple[int, int]:
    """The offsets whose Kindle location (as BookMind writes it) is `location`."""
    return (location - 1) * CHARS_PER_LOCATION, location * CHARS_PER_LOCATION


@dataclass(frozen=True)
class BookText:
    title: str
    text: str
    index: Normalised
    starts: list[int]  # each chapter's start offset
    pages: list[tuple[int, int, int, int]]  # each chapter's start, end, first, last page
    page_count: int
    chapter_titles: list[str]

    def chapter_named(self, title: str | None) -> tuple[int, int] | None:
        """The offsets of the one chapter with this title (compared without case or
        blanks), or None when none or several have it."""
        if not title or not title.strip():
            return None
        wanted = " ".join(title.casefold().split())
        found = [i for i, t in enumerate(self.chapter_titles)
                 if " ".join(t.casefold().split()) == wanted]  # fmt: skip
        return (self.pages[found[0]][0], self.pages[found[0]][1]) if len(found) == 1 else None

    def page_at(self, offset: int) -> int:
        i = max(0, bisect.bisect_right(self.starts, offset) - 1)
        start, end, first, last = self.pages[i]
        share = (offset - start) / max(1, end - start)
        return max(1, first + min(last - first, int(share * (last - first + 1))))


def book_text(title: str, page_count: int | None, chapters: list[Any]) -> BookText:
    """The book's whole text as its offsets count it (chapters at their start offsets,
    the gaps between them blank), normalised once for every quote."""
    parts: list[str] = []
    size = 0
    for c in chapters:
        parts.append(" " * max(0, c["start_offset"] - size) + (c["content"] or ""))
        size = c["start_offset"] + len(c["content"] or "")
    text = "".join(parts)
    pages = [(c["start_offset"], c["end_offset"], c["start_page"] or 1,
              c["end_page"] or c["start_page"] or 1) for c in chapters]  # fmt: skip
    return BookText(title, text, normalise(text), [c["start_offset"] for c in chapters], pages,
                    page_count or (pages[-1][3] if pages else 1),
                    [c["title"] or "" for c in chapters])  # fmt: skip
