"""A parsed book: chapters in reading order with exact character offsets into the whole
book's text, which is the chapters' texts joined by a blank line."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.books.facts import FileFacts

SEPARATOR = "\n\n"
# EPUB and DOCX have no pages: a virtual page is this many characters of text, so page
# numbers still mean the same thing on every device
CHARS_PER_PAGE = 1800
# a table of contents with thousands of entries is unusable and each chapter costs rows
# and a heading in every prompt: past this many, short neighbours are merged
MAX_CHAPTERS = 1000


class ParseError(Exception):
    """The file cannot become a book; the message is shown to the reader."""


@dataclass
class Section:
    title: str | None
    text: str
    start_page: int | None = None
    end_page: int | None = None
    # EPUB: the 1-based spine position of the file it came from (KOReader's DocFragment)
    source_index: int | None = None


@dataclass
class Chapter:
    number: int
    title: str
    text: str
    start_offset: int
    end_offset: int
    start_page: int
    end_page: int
    source_index: int | None = None

    @property
    def word_count(self) -> int:
        return len(self.text.split())


@dataclass
class ParsedBook:
    title: str | None
    author: str | None
    chapters: list[Chapter] = field(default_factory=list)
    page_count: int = 0
    cover_image: bytes | None = None  # raw image bytes, made into a thumbnail later
    # sentences for the reader about text that could not be read (pages left out)
    warnings: list[str] = field(default_factory=list)
    facts: FileFacts = field(default_factory=FileFacts)

    @property
    def text(self) -> str:
        return SEPARATOR.join(c.text for c in self.chapters)

    @property
    def word_count(self) -> int:
        return sum(c.word_count for c in self.chapters)


def assemble(
    title: str | None, author: str | None, sections: list[Section], page_count: int | None
) -> ParsedBook:
    """Number the non-empty sections and place them in the whole text; sections without
    pages get virtual pages."""
    chapters: list[Chapter] = []
    offset = 0
    for section in merge_tiny([s for s in sections if s.text.strip()]):
        text = section.text.strip()
        if not text:
            continue
        start, end = offset, offset + len(text)
        if section.start_page is None:
            first = start // CHARS_PER_PAGE + 1
            last = max(first, (end - 1) // CHARS_PER_PAGE + 1)
        else:
            first = section.start_page
            last = section.end_page or section.start_page
        number = len(chapters) + 1
        chapters.append(
            Chapter(
                number,
                (section.title or f"Section {number}").strip()[:500],
                text,
                start,
                end,
                first,
                last,
                section.source_index,
            )
        )
        offset = end + len(SEPARATOR)
    if not chapters:
        raise ParseError("the file contains no text")
    pages = page_count or chapters[-1].end_page
    return ParsedBook(title=title, author=author, chapters=chapters, page_count=pages)


def merge_tiny(sections: list[Section], limit: int = MAX_CHAPTERS) -> list[Section]:
    """At most `limit` sections: neighbours are joined until each holds about an equal
    share of the text. A merged section keeps the first title; the later titles stay in
    the text as headings, so nothing the reader could look for is lost."""
    if len(sections) <= limit:
        return sections

    def cost(section: Section) -> int:  # its length once merged, heading included
        return len(section.text) + len(section.title or "") + 2 * len(SEPARATOR)

    share = sum(cost(s) for s in sections) / max(1, limit - 1)  # the last may be short
    merged: list[Section] = []
    size = 0.0
    for section in sections:
        body = section.text.strip()
        if not merged or size >= share:
            merged.append(
                Section(
                    section.title, body, section.start_page, section.end_page, section.source_index
                )
            )
            size = cost(section)
            continue
        last = merged[-1]
        title = (section.title or "").strip()
        heading = f"{title}{SEPARATOR}" if title and title != body else ""
        last.text += SEPARATOR + heading + body
        last.end_page = section.end_page or section.start_page or last.end_page
        size += cost(section)
    return merged
