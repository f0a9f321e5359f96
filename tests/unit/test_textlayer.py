"""Pages whose text layer cannot be read: found page by page, read by OCR where
Tesseract is installed, and named in the book's warnings where it is not."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from domain.books import textlayer
from domain.books.parse_paged import parse_paged
from domain.books.parsed import ParseError
from tests.services import CORPUS


@pytest.fixture
def no_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(tessdata: str | None = None) -> str:
        raise RuntimeError("No tessdata specified and Tesseract is not installed")

    monkeypatch.setattr(pymupdf, "get_tessdata", missing)


def test_garbage_is_told_from_text() -> None:
    assert not textlayer.unreadable("Call me Ishmael. Some years ago\u2014never mind how long")
    assert not textlayer.unreadable("1. 169 2. 170 3. 171 4. 172")  # a table of numbers is text
    assert not textlayer.unreadable("")
    assert not textlayer.unreadable("Caf\ufffd au lait, a long sentence with one bad glyph in it")
    assert textlayer.unreadable("\ufffd\ufffd\ufffd \ufffd\ufffdof\ufffd\ufffd")
    assert textlayer.unreadable("\x03\x11\x05\x14 \x0f\x03\x08 the")
    assert textlayer.unreadable("\ue001\ue002\ue003\ue004 ab")  # private-use glyph codes


def test_page_lists_read_as_sentences() -> None:
    assert textlayer.pages_have([4]) == "page 4 has"
    assert textlayer.pages_have([2, 3, 4]) == "pages 2\u20134 have"
    assert textlayer.pages_have([2, 3, 4, 7, 9, 10, 11]) == "pages 2\u20134, 7 and 9\u201311 have"


def test_language_data_that_is_not_there_is_no_tesseract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    assert textlayer.tessdata() is None


def test_unmapped_pages_without_tesseract_are_named_and_left_out(no_tesseract: None) -> None:
    book = parse_paged((CORPUS / "tam-review_chuttur.pdf").read_bytes(), "pdf")
    assert book.warnings == [
        "pages 2\u201322 have no readable text layer and were left out; "
        "install Tesseract on the server to read them"
    ]
    assert "\ufffd" not in book.text
    assert "Technology Acceptance Model" in book.text  # page 1 is kept
    assert "Editorial Board" in book.text  # and page 23
    assert book.page_count == 23


def test_a_scan_without_tesseract_says_so(no_tesseract: None) -> None:
    with pytest.raises(ParseError, match="OCR needs Tesseract, which is not installed"):
        parse_paged((CORPUS / "scanned_huckfinn-p22.pdf").read_bytes(), "pdf")


def test_a_book_that_is_all_glyph_codes_fails_saying_why(no_tesseract: None) -> None:
    doc = pymupdf.open(CORPUS / "tam-review_chuttur.pdf")
    doc.select([2])  # page 3 alone, all unmapped glyphs
    with pytest.raises(ParseError, match="page 1 has no readable text layer"):
        parse_paged(doc.tobytes(), "pdf")
