"""PDF and MOBI with PyMuPDF: chapters from the outline's top level when it has one,
else sections of ten pages. Text is de-hyphenated, ligatures expanded, and each text
block becomes a paragraph. Pages without a usable text layer are read by OCR, or named
in the book's warnings (`textlayer`)."""

from __future__ import annotations

import itertools
import re

import pymupdf

from domain.books import facts, isbn, mobi_header, textlayer
from domain.books.facts import FileFacts
from domain.books.parsed import ParsedBook, ParseError, Section, assemble

MAX_PAGES = 5000
MAX_CHAPTERS = 2000
PAGES_PER_SECTION = 10
MAX_CHAPTER_SHARE = 0.25  # of the pages, for one chapter from the outline's top level
_NUMBER_ONLY = re.compile(r"^(\d+|[IVXLC]+)\.?$")
_FLAGS = pymupdf.TEXT_DEHYPHENATE | pymupdf.TEXT_MEDIABOX_CLIP  # no PRESERVE_LIGATURES: ﬁ -> fi
# not a title or author: a Perl reference printed by the tool that made the file, the
# name of the file it was printed from ("Microsoft Word - thesis.docx"), a placeholder
_JUNK_META = re.compile(
    r"^(ARRAY|HASH)\(0x[0-9a-f]+\)$|^\s*$|^Microsoft \w+ - |\.(docx?|odt|rtf|tex|dvi|indd|pptx?)$"
    r"|^(untitled|document\d*|title|unknown|anonymous)$",
    re.IGNORECASE,
)


def _page_text(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> str:
    blocks = page.get_text("blocks", flags=_FLAGS, sort=True, textpage=textpage)
    paragraphs = [" ".join(b[4].split()) for b in blocks if b[6] == 0]
    return "\n\n".join(p for p in paragraphs if p)


def _meta(doc: pymupdf.Document, key: str) -> str | None:
    value = (doc.metadata or {}).get(key) or ""
    value = " ".join(value.split())
    return None if _JUNK_META.search(value) else value


def parse_paged(data: bytes, kind: str) -> ParsedBook:
    try:
        doc = pymupdf.open(stream=data, filetype=kind)
    except Exception as exc:  # PyMuPDF raises several types for damaged files
        raise ParseError(f"the {kind.upper()} file is damaged or unreadable ({exc})") from None
    with doc:
        if doc.needs_pass:
            raise ParseError("the PDF is password-protected; upload it without a password")
        if doc.page_count == 0:
            raise ParseError("the file has no pages")
        if doc.page_count > MAX_PAGES:
            raise ParseError(f"the book has {doc.page_count} pages; the limit is {MAX_PAGES}")
        pages = [_page_text(page) for page in doc]
        if any(pages):
            warnings = _repair(doc, pages)
            if not any(pages):
                raise ParseError(f"the file has no readable text: {warnings[0]}")
        else:
            pages, warnings = _ocr_scan(doc), []
        sections = _by_outline(doc.get_toc(simple=True), pages) or _by_pages(pages)
        own = mobi_header.read(data) if kind == "mobi" else mobi_header.MobiHeader()
        title = own.title or _meta(doc, "title")
        author = " & ".join(own.authors) or _meta(doc, "author")
        book = assemble(title, author, sections, len(pages))
        book.cover_image = own.cover or _first_page_image(doc)
        book.warnings = warnings
        book.facts = FileFacts(
            isbn=isbn.forms(own.isbn) if own.isbn else None,
            publisher=facts.short(own.publisher),
            # not a PDF's creationDate: that is when the file was made, not the book
            published=facts.published(own.published),
            language=facts.language(own.language or doc.language),
        )
        return book


def _ocr_scan(doc: pymupdf.Document) -> list[str]:
    """A scan without any text layer: OCR every page, or fail saying what is missing."""
    tessdata = textlayer.tessdata()
    if tessdata is None:
        raise ParseError(
            "the file has no text layer (a scanned book?); OCR needs Tesseract, "
            "which is not installed on this server"
        )
    if doc.page_count > textlayer.OCR_MAX_PAGES:
        raise ParseError(
            f"the scan has {doc.page_count} pages without a text layer; OCR reads at most "
            f"{textlayer.OCR_MAX_PAGES}"
        )
    pages = [_ocr_text(page, tessdata) for page in doc]
    if not any(pages):
        raise ParseError("the file has no text layer and OCR found no text in it")
    return pages


def _repair(doc: pymupdf.Document, pages: list[str]) -> list[str]:
    """Read the pages whose text layer is garbage by OCR, in place; what cannot be read
    is dropped and named in the returned warnings."""
    broken = [i for i, text in enumerate(pages) if textlayer.unreadable(text)]
    if not broken:
        return []
    for i in broken:
        pages[i] = ""  # glyph codes are not words: never stored, searched or embedded
    tessdata = textlayer.tessdata()
    if tessdata is None or len(broken) > textlayer.OCR_MAX_PAGES:
        why = ("install Tesseract on the server to read them" if tessdata is None
               else f"OCR reads at most {textlayer.OCR_MAX_PAGES} pages of a book")  # fmt: skip
        missing = textlayer.pages_have([i + 1 for i in broken])
        return [f"{missing} no readable text layer and were left out; {why}"]
    for i in broken:
        text = _ocr_text(doc[i], tessdata)
        pages[i] = "" if textlayer.unreadable(text) else text
    lost = [i + 1 for i in broken if not pages[i]]
    if not lost:
        return []
    return [f"{textlayer.pages_have(lost)} no readable text layer and OCR found no text "
            "on them; they were left out"]  # fmt: skip


def _ocr_text(page: pymupdf.Page, tessdata: str) -> str:
    # one Page object for both calls: the text page refers back to it weakly
    return _page_text(page, textlayer.ocr_textpage(page, _FLAGS, tessdata))


def _first_page_image(doc: pymupdf.Document) -> bytes | None:
    try:
        return bytes(doc[0].get_pixmap(matrix=pymupdf.Matrix(0.75, 0.75)).tobytes("png"))
    except Exception:  # a page that will not render just means no cover
        return None


def _by_outline(toc: list[list[object]], pages: list[str]) -> list[Section] | None:
    """Chapters from the outline's top level; from its first two levels when one top
    entry holds more than a quarter of the book (a part of several chapters, or a
    single entry over the whole text, as Gutenberg's MOBIs have)."""
    entries = [
        (level, " ".join(str(title).split()), page)
        for level, title, page in toc
        if isinstance(level, int) and isinstance(page, int) and 1 <= page <= len(pages)
    ]
    starts = _starts(entries, 1)
    if len(starts) < 2 or len(starts) > MAX_CHAPTERS:
        return None
    if _largest_share(starts, len(pages)) > MAX_CHAPTER_SHARE:
        deeper = _starts(entries, 2)
        starts = deeper if len(deeper) <= MAX_CHAPTERS else starts
    firsts = sorted(starts)
    sections = []
    if firsts[0] > 1:
        sections.append(Section("Front matter", _join(pages, 1, firsts[0] - 1), 1, firsts[0] - 1))
    for i, first in enumerate(firsts):
        last = firsts[i + 1] - 1 if i + 1 < len(firsts) else len(pages)
        sections.append(Section(starts[first], _join(pages, first, last), first, last))
    return sections


def _starts(entries: list[tuple[int, str, int]], depth: int) -> dict[int, str]:
    """The first title at each page among entries down to `depth`. A title that is only
    a number ("190") takes the title of a deeper entry on its page along."""
    starts: dict[int, str] = {}
    for level, title, page in entries:
        if level <= depth and title:
            starts.setdefault(page, title)
    for level, title, page in entries:
        if level > depth and title and _NUMBER_ONLY.match(starts.get(page, "")):
            starts[page] = f"{starts[page]}. {title}"
    return starts


def _largest_share(starts: dict[int, str], page_count: int) -> float:
    firsts = [*sorted(starts), page_count + 1]
    return max(b - a for a, b in itertools.pairwise(firsts)) / page_count


def _by_pages(pages: list[str]) -> list[Section]:
    sections = []
    for first in range(1, len(pages) + 1, PAGES_PER_SECTION):
        last = min(len(pages), first + PAGES_PER_SECTION - 1)
        title = f"Pages {first}-{last}" if last > first else f"Page {first}"
        sections.append(Section(title, _join(pages, first, last), first, last))
    return sections


def _join(pages: list[str], first: int, last: int) -> str:
    return "\n\n".join(p for p in pages[first - 1 : last] if p)
