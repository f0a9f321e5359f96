"""Every corpus book, of every format, through the production parse path (the parser
child process), then chunking and keyword extraction: chapters in order with exact
offsets, passages that cover the whole text. Embedding and storage of real books run in
tests/e2e/test_books_http.py (one or two of each format) and tests/integration/
test_retrieval.py; embedding all eleven here would double the suite's time and test the
same code again."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from domain.books import keywords, textlayer
from domain.books.chunk import MAX_WORDS, chunk_chapters
from domain.books.detect import detect_type
from domain.books.parsed import SEPARATOR
from tests.services import CORPUS
from workers.parse_process import parse_in_child

pytestmark = pytest.mark.slow

ALL_BOOKS = sorted(
    p.name for p in CORPUS.iterdir()
    if p.suffix in {".epub", ".pdf", ".mobi", ".docx"} and not p.name.startswith("scanned")
)  # fmt: skip


def _manifest_words() -> dict[str, int]:
    """The corpus MANIFEST's word counts, taken with other tools than ours."""
    counts = {}
    for line in (CORPUS / "MANIFEST.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"[\d,]+", cells[5]):
            counts[cells[0]] = int(cells[5].replace(",", ""))
    return counts


MANIFEST_WORDS = _manifest_words()
# TAMReview: the MANIFEST counts PyMuPDF's tokens, glyph codes included, on pages 2-22;
# OCR reads those pages as real words, fewer than the garbage tokens (9,160 here)
TAM = "tam-review_chuttur.pdf"


def test_the_corpus_is_all_there() -> None:
    assert len(ALL_BOOKS) == 11
    assert set(ALL_BOOKS) <= set(MANIFEST_WORDS)


async def test_pages_without_a_text_layer_are_read_by_ocr() -> None:
    """TAMReview's first three pages: page 1 has a real text layer, pages 2-3 glyph
    codes only. With Tesseract installed they are read, and nothing is left out."""
    if textlayer.tessdata() is None:
        pytest.skip(
            "Tesseract's English data is not installed (apt-get install "
            "tesseract-ocr tesseract-ocr-eng; .ci/run does it as root)"
        )
    source = pymupdf.open(stream=(CORPUS / TAM).read_bytes(), filetype="pdf")
    source.select([0, 1, 2])
    book = await parse_in_child(source.tobytes(), "pdf", 120)
    assert book.warnings == []
    assert "Technology Acceptance Model" in book.text  # page 1, the text layer
    assert "perceived usefulness" in book.text.lower()  # pages 2-3, by OCR
    assert "\ufffd" not in book.text and book.word_count > 1000


@pytest.mark.parametrize("name", ALL_BOOKS)
async def test_every_corpus_book_parses_into_exact_chapters_and_passages(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = (CORPUS / name).read_bytes()
    kind = detect_type(data)
    assert kind is not None and kind == name.rsplit(".", 1)[1]
    if name == TAM:
        # without Tesseract here: OCR of its 21 pages takes two minutes, a budget
        # make test does not have; OCR reading them is the test below, on three pages
        monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    book = await parse_in_child(data, kind, 300)
    text = book.text
    expected = MANIFEST_WORDS[name]
    if name != TAM:
        # a parser change that drops text fails here
        assert 0.97 * expected <= book.word_count <= 1.03 * expected, (book.word_count, expected)
        assert book.warnings == []
    else:
        assert book.warnings == [
            "pages 2\u201322 have no readable text layer and were left out; "
            "install Tesseract on the server to read them"
        ]
        assert 500 <= book.word_count < 1000
    if name == TAM:
        assert "\ufffd" not in text
    assert book.chapters and book.word_count > 0 and book.page_count >= 1
    for number, chapter in enumerate(book.chapters, 1):
        assert chapter.number == number and chapter.title
        assert text[chapter.start_offset : chapter.end_offset] == chapter.text
        assert chapter.start_page <= chapter.end_page
    for a, b in zip(book.chapters, book.chapters[1:], strict=False):
        assert b.start_offset == a.end_offset + len(SEPARATOR)
    passages = chunk_chapters(book.chapters)
    for p in passages:
        assert text[p.start_offset : p.end_offset] == p.text
        assert p.word_count <= MAX_WORDS
    # every word of the book is in some passage
    assert sum(p.word_count for p in passages) >= book.word_count
    if book.word_count > 2000:
        assert len(keywords.key_concepts(keywords.candidates([c.text for c in book.chapters]))) >= 5
    if name in EDITIONS:  # what each file says of its edition (the PDFs on a copyright page)
        assert book.facts.columns() | EDITIONS[name] == book.facts.columns()
    if name in NAMED:  # the title and author the file gives, never its file name
        assert (book.title, book.author) == NAMED[name]
    if name in OUTLINED:  # chapters a reader would find in the outline
        titles = [c.title for c in book.chapters]
        assert set(OUTLINED[name]) <= set(titles), titles
        largest = max(c.end_page - c.start_page + 1 for c in book.chapters)
        assert largest <= book.page_count / 4, (largest, book.page_count)


EDITIONS: dict[str, dict[str, str | None]] = {
    "free-culture_lessig.pdf": {"isbn_10": "1594200068", "isbn_13": "9781594200069"},
    "geotopo_de_outline.pdf": {"isbn_13": "9783519122265"},
    "pride-and-prejudice_pg1342_epub2.epub": {"published_date": "1998-06-01", "language": "en"},
    "moby-dick_epub3.epub": {"publisher": "Harper & Brothers, Publishers", "language": "en-US"},
    "alice-in-wonderland_epub3.epub": {"isbn_13": None, "language": "en-US"},
    "origin-of-species_mobi6.mobi": {
        "publisher": "Project Gutenberg", "published_date": "1999-12-01", "language": "en",
    },
    "childrens-literature_kf8.mobi": {"published_date": "2008-05-20", "language": "en"},
}  # fmt: skip

# outlines whose top level is parts of several chapters, or one entry over the whole
# book: the chapters come from the level below
OUTLINED = {
    "origin-of-species_mobi6.mobi": [
        "INTRODUCTION.", "CHAPTER I. VARIATION UNDER DOMESTICATION.", "INDEX.",
    ],
    # a story's number alone says nothing: the title below it on the same page joins it
    "childrens-literature_kf8.mobi": ["193. THE EMPEROR'S NEW CLOTHES", "BIBLIOGRAPHY"],
    "free-culture_lessig.pdf": ['"PIRACY"', "Chapter 1: Creators", '10: "Property"'],
    # its chapters are the top level already
    "geotopo_de_outline.pdf": ["1 Topologische Grundbegriffe", "5 Krümmung"],
}  # fmt: skip

NAMED = {
    "alice-in-wonderland_epub3.epub": ("Alice's Adventures in Wonderland", "Lewis Carroll"),
    "free-culture_lessig.pdf": ("Free Culture", "Lawrence Lessig"),
    # its author field holds a Perl reference the tool that made it printed
    TAM: (
        "Overview of the Technology Acceptance Model: Origins, Developments and Future "
        "Directions", None,
    ),
    "origin-of-species_mobi6.mobi": (
        "The Origin of Species by means of Natural Selection, 6th Edition", "Charles Darwin",
    ),
    "childrens-literature_kf8.mobi": (
        "Children's Literature", "Charles Madison Curry & Erle Elsworth Clippinger",
    ),
    # no title in the properties: the document's Title paragraph names it
    "autogen-paper-excerpt.docx": (
        "AutoGen: Enabling Next-Gen LLM Applications via Multi-Agent Conversation",
        "Adam Fourney",
    ),
    "heading-hierarchy_docling.docx": ("Test Document", "Peter Staar"),
}  # fmt: skip
