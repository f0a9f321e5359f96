"""Parse a book's bytes by its detected type."""

from __future__ import annotations

from domain.books.facts import with_text_isbn
from domain.books.parse_docx import parse_docx
from domain.books.parse_epub import parse_epub
from domain.books.parse_paged import parse_paged
from domain.books.parsed import ParsedBook, ParseError


def parse_book(data: bytes, kind: str) -> ParsedBook:
    if kind in {"pdf", "mobi"}:
        book = parse_paged(data, kind)
    elif kind == "epub":
        book = parse_epub(data)
    elif kind == "docx":
        book = parse_docx(data)
    else:
        raise ParseError(f"unsupported type {kind!r}")
    with_text_isbn(book.facts, book.text)
    return book
