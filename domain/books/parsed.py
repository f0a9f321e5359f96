"""A parsed book: chapters in reading order with exact character offsets into the whole
book's text, which is the chapters' texts joined by a blank line."""

from __future__ import annotations

from dataclasses import dataclass, field

SEPARATOR = "\n\n"
# EPUB and DOCX have no pages: a virtual page is this many characters of text, so page
# numbers still mean the same thing on every device
CHARS_PER_PAGE = 1800


class ParseError(Exception):
    """The file cannot become a book; the message is shown to the reader."""


@dataclass
class Section:
    title: str | None
    text: str
    start_page: int | None = None
    end_page: int | None = None


@dataclass
class Chapter:
    number: int
    title: str
    text: str
    start_offset: int
    end_offset: int
    start_page: int
    end_page: int

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
    for section in sections:
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
            )
        )
        offset = end + len(SEPARATOR)
    if not chapters:
        raise ParseError("the file contains no text")
    pages = page_count or chapters[-1].end_page
    return ParsedBook(title=title, author=author, chapters=chapters, page_count=pages)
