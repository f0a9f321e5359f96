"""DOCX with python-docx: each heading (or the title) starts a chapter."""

from __future__ import annotations

import io

import docx

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
    for paragraph in document.paragraphs:
        text = " ".join(paragraph.text.split())
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.startswith("Heading") or style == "Title":
            if current.text.strip() or current.title:
                sections.append(current)
            current = Section(text, "")
            continue
        current.text += ("\n\n" if current.text else "") + text
    sections.append(current)
    # a heading with no text under it still marks where the reader is: keep its title
    sections = [s if s.text else Section(s.title, s.title or "") for s in sections]
    props = document.core_properties
    return assemble(props.title or None, props.author or None, sections, None)
