"""Without Tesseract a scan fails with a reason that says exactly what is missing."""

from __future__ import annotations

import pymupdf
import pytest

from domain.books.parse_paged import parse_paged
from domain.books.parsed import ParseError
from tests.services import CORPUS


def test_a_scan_without_tesseract_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_tesseract(tessdata: str | None = None) -> str:
        raise RuntimeError("No tessdata specified and Tesseract is not installed")

    monkeypatch.setattr(pymupdf, "get_tessdata", no_tesseract)
    with pytest.raises(ParseError, match="OCR needs Tesseract, which is not installed"):
        parse_paged((CORPUS / "scanned_huckfinn-p22.pdf").read_bytes(), "pdf")
