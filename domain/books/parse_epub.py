"""EPUB with ebooklib: spine order, titles from the table of contents (else the first
heading), HTML turned into clean text with paragraphs kept; scripts and styles dropped."""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from typing import Any

import ebooklib
import lxml.html
from ebooklib import epub

from domain.books import facts, isbn
from domain.books.facts import FileFacts
from domain.books.parsed import ParsedBook, ParseError, Section, assemble
from domain.books.zipguard import check_zip

_BLOCKS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr",
           "section", "article", "br", "dd", "dt", "figcaption", "table"}  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BREAKS = re.compile(r"\s*\n\s*\n\s*")


def parse_xhtml(content: bytes) -> lxml.html.HtmlElement | None:
    """An XHTML document as lxml's HTML parser reads it, comments dropped (their text
    around them joined, as reading systems do), or None when it cannot be read."""
    try:
        root = lxml.html.fromstring(content)
    except (lxml.etree.ParserError, ValueError):
        return None
    for comment in root.xpath("//comment()|//processing-instruction()"):
        if comment.getparent() is not None:
            comment.drop_tree()
    return root


def drop_unread(root: lxml.html.HtmlElement) -> None:
    for junk in root.xpath("//script|//style|//head"):
        junk.drop_tree()


def block_text(root: lxml.html.HtmlElement) -> str:
    """The text of a parsed document with a blank line between blocks (marks the
    blocks' tails in `root`)."""
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCKS:
            element.tail = "\n\n" + (element.tail or "")
    lines = [_SPACES.sub(" ", line).strip() for line in root.text_content().split("\n")]
    text = _BREAKS.sub("\n\n", "\n".join(lines)).strip()
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)  # single line breaks inside a paragraph


def html_to_text(content: bytes) -> tuple[str, str | None]:
    """The text of an XHTML document with a blank line between blocks, and its first
    heading."""
    root = parse_xhtml(content)
    if root is None:
        return "", None
    drop_unread(root)
    heading = next((" ".join(h.text_content().split()) for h in root.iter("h1", "h2", "h3")
                    if h.text_content().strip()), None)  # fmt: skip
    return block_text(root), heading


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


def _read(data: bytes) -> epub.EpubBook:
    check_zip(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return epub.read_epub(io.BytesIO(data), options={"ignore_ncx": False})
    except Exception as exc:  # ebooklib raises KeyError, EpubException, lxml errors ...
        raise ParseError(f"the EPUB is damaged or not an EPUB ({type(exc).__name__})") from None


def _spine(book: epub.EpubBook) -> Iterator[tuple[int, Any]]:
    """The spine's documents with their place in it: KOReader counts every spine item,
    non-linear ones included, from 1 (its DocFragment[n])."""
    for position, (item_id, _linear) in enumerate(book.spine, start=1):
        item = book.get_item_with_id(item_id)
        if item is not None and item.get_type() == ebooklib.ITEM_DOCUMENT:
            yield position, item


def spine_documents(data: bytes) -> dict[int, bytes]:
    """Each spine document's XHTML by its place in the spine."""
    return {position: item.get_content() for position, item in _spine(_read(data))}


def parse_epub(data: bytes) -> ParsedBook:
    book = _read(data)
    titles = _toc_titles(book.toc)
    sections = []
    for position, item in _spine(book):
        text, heading = html_to_text(item.get_content())
        title = titles.get(item.get_name()) or heading
        sections.append(Section(title, text, source_index=position))
    parsed = assemble(_first(book, "title"), _first(book, "creator"), sections, None)
    parsed.cover_image = _cover(book)
    identifiers = [str(v[0]) for v in book.get_metadata("DC", "identifier")]
    parsed.facts = FileFacts(
        isbn=next(filter(None, map(isbn.forms, identifiers)), None),
        publisher=facts.short(_first(book, "publisher")),
        published=facts.published(_first(book, "date")),
        language=facts.language(_first(book, "language")),
    )
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
