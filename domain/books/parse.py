"""Parse a book's bytes by its detected type."""

from __future__ import annotations

from domain.books.parse_docx import parse_docx
from domain.books.parse_epub import parse_epub
from domain.books.parse_paged import parse_paged
from domain.books.parsed import ParsedBook, ParseError


def parse_book(data: bytes, kind: str) -> ParsedBook:
    if kind in {"pdf", "mobi"}:
        return parse_paged(data, kind)
    if kind == "epub":
        return parse_epub(data)
    if kind == "docx":
        return parse_docx(data)
    raise ParseError(f"unsupported type {kind!r}")
