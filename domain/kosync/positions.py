"""KOReader positions and BookMind's, both ways, as exactly as the data allows.

KOReader sends `progress` as a page number for paged documents (PDF: `"56"`) and as an
XPointer for reflowable ones (EPUB: `/body/DocFragment[11]/body/div/p[7]/text().123`,
DocFragment[n] being the n-th spine item counted from 1, non-linear ones included), with
`percentage` (0..1) beside it. BookMind positions are character offsets into the book's
text (PROTOCOL.md), with a page and a fraction.

Precision, KOReader → BookMind:
- PDF: the page's first character, found in the passage that holds the page start
  (pages inside a passage are placed by their share of its text).
- EPUB: the XPointer resolved in its spine item to the character (spine.py,
  xpointer.py); when it cannot be (a path naming nothing, a spine item without text),
  the chapter of the spine item, and inside it KOReader's `percentage` when that falls
  inside the chapter, else the chapter's start.
- other formats (MOBI, DOCX): `percentage` of the whole text.

BookMind → KOReader:
- PDF: the page number BookMind's device stored.
- EPUB: the path of the text node at or just before the offset (spine.py); failing
  that, `/body/DocFragment[n]` of the chapter holding it (KOReader opens the chapter's
  start), with the fraction as `percentage`.
- other formats: `percentage` only, `progress` naming the document's start."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOC_FRAGMENT = re.compile(r"^/body/DocFragment\[(\d+)\]")
PAGE = re.compile(r"^\s*(\d{1,7})\s*$")


@dataclass(frozen=True)
class ChapterSpan:
    start_offset: int
    end_offset: int
    start_page: int
    end_page: int
    source_index: int | None


@dataclass(frozen=True)
class PassageSpan:
    start_offset: int
    end_offset: int
    start_page: int
    end_page: int


@dataclass(frozen=True)
class Position:
    """A BookMind position: what `progress.update` takes."""

    offset: int
    page: int
    fraction: float


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def page_of(chapters: list[ChapterSpan], offset: int) -> int:
    """The page an offset is on, by the chapter's share of its pages."""
    for c in chapters:
        if offset < c.end_offset or c is chapters[-1]:
            span = max(1, c.end_offset - c.start_offset)
            pages = max(1, c.end_page - c.start_page + 1)
            share = _clamp((offset - c.start_offset) / span, 0.0, 0.999999)
            return c.start_page + int(share * pages)
    return 1


def from_pdf_page(page: int, passage: PassageSpan | None, total: int) -> int:
    """The first offset of `page`, from the passage that holds its start."""
    if passage is None:
        return total
    if page <= passage.start_page:
        return passage.start_offset
    pages = max(1, passage.end_page - passage.start_page + 1)
    share = (page - passage.start_page) / pages
    return passage.start_offset + int(share * (passage.end_offset - passage.start_offset))


def from_xpointer(progress: str, percentage: float, chapters: list[ChapterSpan], total: int) -> int:
    """The offset of an EPUB XPointer: its spine item's chapter, and inside it the
    reported percentage when that lands in the chapter."""
    by_percentage = int(_clamp(percentage, 0.0, 1.0) * total)
    m = DOC_FRAGMENT.match(progress)
    if not m:
        return by_percentage
    fragment = int(m.group(1))
    indexed = [c for c in chapters if c.source_index is not None]
    # a spine item without text (a cover page) has no chapter: the next chapter's start
    chapter = next((c for c in indexed if c.source_index == fragment), None) or next(
        (c for c in indexed if (c.source_index or 0) > fragment), None
    )
    if chapter is None:
        return by_percentage if not indexed else indexed[-1].end_offset
    if chapter.start_offset <= by_percentage < chapter.end_offset:
        return by_percentage
    return chapter.start_offset


def to_koreader(
    file_type: str | None, offset: int, page: int | None, chapters: list[ChapterSpan]
) -> str:
    """A `progress` string KOReader can open for a BookMind position."""
    if file_type == "pdf":
        return str(page or page_of(chapters, offset))
    chapter = next(
        (c for c in chapters if offset < c.end_offset), chapters[-1] if chapters else None
    )
    if file_type == "epub" and chapter is not None and chapter.source_index is not None:
        return f"/body/DocFragment[{chapter.source_index}]"
    return "/body/DocFragment[1]"


def from_koreader(
    file_type: str | None,
    progress: str,
    percentage: float,
    chapters: list[ChapterSpan],
    pdf_passage: PassageSpan | None = None,
    resolved: int | None = None,
) -> Position:
    """`resolved`: the offset of an EPUB XPointer found in its spine item (spine.py),
    when it could be."""
    total = chapters[-1].end_offset if chapters else 0
    page_match = PAGE.match(progress)
    if file_type == "pdf" and page_match:
        offset = from_pdf_page(int(page_match.group(1)), pdf_passage, total)
        page = int(page_match.group(1))
    elif file_type == "epub":
        offset = (
            resolved
            if resolved is not None
            else from_xpointer(progress, percentage, chapters, total)
        )
        page = page_of(chapters, offset)
    else:
        offset = int(_clamp(percentage, 0.0, 1.0) * total)
        page = page_of(chapters, offset)
    offset = int(_clamp(offset, 0, total))
    fraction = offset / total if total else _clamp(percentage, 0.0, 1.0)
    return Position(offset=offset, page=max(1, page), fraction=_clamp(fraction, 0.0, 1.0))
