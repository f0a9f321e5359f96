"""DOCX with python-docx: each heading (or the title) starts a chapter and stays in its
text as its first line; tables are read in place, a row to a line, cells apart by tabs."""

from __future__ import annotations

import io
from collections.abc import Iterator

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from domain.books import facts, isbn
from domain.books.facts import FileFacts
from domain.books.parsed import ParsedBook, ParseError, Section, assemble
from domain.books.zipguard import check_zip


def parse_docx(data: bytes) -> ParsedBook:
    check_zip(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several types for damaged files
        raise ParseError(f"the DOCX is damaged ({type(exc).__name__})") from None
    sections: list[Section] = []
    current = Section(None, "")
    title: str | None = None  # a document's Title paragraph, when its properties name none
    for text, heading in _blocks(document.iter_inner_content()):
        if heading == "Title" and title is None:
            title = text[:500]
        if heading:
            if current.text:
                sections.append(current)
            current = Section(text, text)
            continue
        current.text += ("\n\n" if current.text else "") + text
    sections.append(current)
    props = document.core_properties
    book = assemble(props.title or title, props.author or None, sections, None)
    book.facts = FileFacts(
        isbn=isbn.forms(props.identifier) if props.identifier else None,
        language=facts.language(props.language),
    )
    return book


def _blocks(content: Iterator[Paragraph | Table]) -> Iterator[tuple[str, str | None]]:
    """(text, its heading style or None) for each non-empty paragraph and table row, in
    reading order."""
    for block in content:
        if isinstance(block, Table):
            yield from ((row, None) for row in _rows(block))
            continue
        text = " ".join(block.text.split())
        if text:
            style = (block.style.name if block.style is not None else "") or ""
            yield text, style if style.startswith("Heading") or style == "Title" else None


def _rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell is listed once per column it spans
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        line = "\t".join(c for c in cells if c)
        if line:
            yield line
