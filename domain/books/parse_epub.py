"""EPUB with ebooklib: spine order, titles from the table of contents (else the first
heading), HTML turned into clean text with paragraphs kept; scripts and styles dropped."""

from __future__ import annotations

import io
import re
import warnings
from typing import Any

import ebooklib
import lxml.html
from ebooklib import epub

from domain.books.parsed import ParsedBook, ParseError, Section, assemble
from domain.books.zipguard import check_zip

_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr",
           "section", "article", "br", "dd", "dt", "figcaption", "table"}  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BREAKS = re.compile(r"\s*\n\s*\n\s*")


def html_to_text(content: bytes) -> tuple[str, str | None]:
    """The text of an XHTML document with a blank line between blocks, and its first
    heading."""
    try:
        root = lxml.html.fromstring(content)
    except (lxml.etree.ParserError, ValueError):
        return "", None
    for junk in root.xpath("//script|//style|//head"):
        junk.drop_tree()
    heading = next((" ".join(h.text_content().split()) for h in root.iter("h1", "h2", "h3")
                    if h.text_content().strip()), None)  # fmt: skip
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
    lines = [_SPACES.sub(" ", line).strip() for line in root.text_content().split("\n")]
    text = _BREAKS.sub("\n\n", "\n".join(lines)).strip()
    text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)  # single line breaks inside a paragraph
    return text, heading


def _toc_titles(toc: list[Any]) -> dict[str, str]:
    titles: dict[str, str] = {}

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, tuple):
                section, children = item
                href = getattr(section, "href", None)
                if href:
                    titles.setdefault(href.split("#")[0], section.title)
                walk(children)
            elif getattr(item, "href", None):
                titles.setdefault(item.href.split("#")[0], item.title)

    walk(toc)
    return titles


def parse_epub(data: bytes) -> ParsedBook:
    check_zip(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": False})
    except Exception as exc:  # ebooklib raises KeyError, EpubException, lxml errors ...
        raise ParseError(f"the EPUB is damaged or not an EPUB ({type(exc).__name__})") from None
    titles = _toc_titles(book.toc)
    sections = []
    # KOReader counts every spine item, non-linear ones included, from 1 (DocFragment[n])
    for position, (item_id, _linear) in enumerate(book.spine, start=1):
        item = book.get_item_with_id(item_id)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        text, heading = html_to_text(item.get_content())
        title = titles.get(item.get_name()) or heading
        sections.append(Section(title, text, source_index=position))
    parsed = assemble(_first(book, "title"), _first(book, "creator"), sections, None)
    parsed.cover_image = _cover(book)
    return parsed


def _cover(book: epub.EpubBook) -> bytes | None:
    """The declared cover image, else the first image in the book."""
    covers = list(book.get_items_of_type(ebooklib.ITEM_COVER))
    images = list(book.get_items_of_type(ebooklib.ITEM_IMAGE))
    named = [i for i in images if "cover" in i.get_name().lower()]
    for item in covers + named + images[:1]:
        content: bytes = item.get_content()
        if content:
            return content
    return None


def _first(book: epub.EpubBook, name: str) -> str | None:
    values = book.get_metadata("DC", name)
    return " ".join(str(values[0][0]).split()) or None if values else None
