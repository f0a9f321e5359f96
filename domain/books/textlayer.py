"""Pages whose text cannot be read from the file, and reading them with Tesseract.

A PDF can carry a text layer that is no text at all: fonts without a Unicode map give
glyph codes (control characters, U+FFFD) instead of letters, page by page. Those pages
are read by OCR when Tesseract is installed;
when it is not, their garbage is dropped and the book says which pages are missing, so a
reader never searches a book that lost most of its text without being told."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pymupdf

OCR_LANGUAGE = "eng"
OCR_DPI = 300
OCR_MAX_PAGES = 1000
# share of a page's visible characters that may be unmapped glyphs before the page counts
# as unreadable: real text has none; TAMReview's broken pages have 81-98%
MAX_BAD_SHARE = 0.10
_BAD_CATEGORIES = {"Cc", "Co", "Cs", "Cn"}


def unreadable(text: str) -> bool:
    """True when the page has text but most of it is not characters a reader could read.
    A page without letters is not enough: a table of numbers is text."""
    visible = [c for c in text if not c.isspace()]
    bad = sum(1 for c in visible if c == "\ufffd" or unicodedata.category(c) in _BAD_CATEGORIES)
    return bad > MAX_BAD_SHARE * len(visible)


def tessdata() -> str | None:
    """Where Tesseract's data for OCR_LANGUAGE is, or None when it is not installed
    (PyMuPDF carries the OCR engine; only the language data comes from Tesseract)."""
    try:
        folder = Path(pymupdf.get_tessdata())
    except RuntimeError:
        return None
    return str(folder) if (folder / f"{OCR_LANGUAGE}.traineddata").is_file() else None


def ocr_textpage(page: pymupdf.Page, flags: int, data: str) -> pymupdf.TextPage:
    """The page read by Tesseract (2 to 5 s a page here at 300 dpi), ignoring any text
    layer it has."""
    return page.get_textpage_ocr(
        flags=flags, language=OCR_LANGUAGE, dpi=OCR_DPI, full=True, tessdata=data
    )


def pages_have(numbers: list[int]) -> str:
    """'page 4 has', 'pages 2-22 have', 'pages 2-4, 7 and 9-11 have' (en dashes) for sorted 1-based
    page numbers."""
    runs: list[tuple[int, int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], n)
        else:
            runs.append((n, n))
    parts = [f"{a}" if a == b else f"{a}\u2013{b}" for a, b in runs]
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"page {text} has" if len(numbers) == 1 else f"pages {text} have"
