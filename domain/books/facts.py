"""What a book's file says about the edition: ISBN, publisher, publication date,
language. Each parser reads its format's own fields; the ISBN is also looked for on the
first pages (a copyright page), where PDFs and DOCX files keep it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from domain.books import isbn

# "2003", "2003-07", "2003-07-01", PDF's "D:20030701120000+01'00'"
_DATE = re.compile(r"^(?:D:)?(\d{4})(?:-?(\d{2})(?:-?(\d{2}))?)?")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")
# a copyright page is near the start; some books put it at the end
HEAD_CHARS, TAIL_CHARS = 30_000, 5_000


@dataclass
class FileFacts:
    isbn: tuple[str | None, str] | None = None  # (ISBN-10 or None, ISBN-13)
    publisher: str | None = None
    published: date | None = None
    language: str | None = None

    def columns(self) -> dict[str, str | None]:
        """As the books columns they fill (stored whole as books.file_facts)."""
        isbn_10, isbn_13 = self.isbn or (None, None)
        return {
            "isbn_10": isbn_10,
            "isbn_13": isbn_13,
            "publisher": self.publisher,
            "published_date": self.published.isoformat() if self.published else None,
            "language": self.language,
        }


def published(raw: str | None) -> date | None:
    """A publication date from the forms files use; the first of the month or year when
    only those are given. None for anything else."""
    match = _DATE.match((raw or "").strip())
    if not match:
        return None
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        return date(year, month, day) if 1000 <= year <= 2999 else None
    except ValueError:
        return None


def language(raw: str | None) -> str | None:
    value = (raw or "").strip().replace("_", "-")
    return value if _LANGUAGE.match(value) and len(value) <= 16 else None


def short(raw: str | None, limit: int = 200) -> str | None:
    value = " ".join((raw or "").split())
    return value[:limit] or None


def with_text_isbn(facts: FileFacts, text: str) -> FileFacts:
    """The ISBN the text names, when the file's fields named none."""
    if facts.isbn is None:
        facts.isbn = isbn.find(text[:HEAD_CHARS]) or isbn.find(text[-TAIL_CHARS:])
    return facts
