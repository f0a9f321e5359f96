"""Every corpus book, of every format, through the production parse path (the parser
child process), then chunking and keyword extraction: chapters in order with exact
offsets, passages that cover the whole text. Embedding and storage of real books run in
tests/e2e/test_books_http.py (one or two of each format) and tests/integration/
test_retrieval.py; embedding all eleven here would double the suite's time and test the
same code again."""

from __future__ import annotations

import pytest

from domain.books import keywords
from domain.books.chunk import chunk_chapters
from domain.books.detect import detect_type
from domain.books.parsed import SEPARATOR
from tests.services import CORPUS
from workers.parse_process import parse_in_child

pytestmark = pytest.mark.slow

ALL_BOOKS = sorted(
    p.name for p in CORPUS.iterdir()
    if p.suffix in {".epub", ".pdf", ".mobi", ".docx"} and not p.name.startswith("scanned")
)  # fmt: skip


def test_the_corpus_is_all_there() -> None:
    assert len(ALL_BOOKS) == 11


@pytest.mark.parametrize("name", ALL_BOOKS)
async def test_every_corpus_book_parses_into_exact_chapters_and_passages(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    kind = detect_type(data)
    assert kind is not None and kind == name.rsplit(".", 1)[1]
    book = await parse_in_child(data, kind, 120)
    text = book.text
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
        assert p.word_count <= 200
    # every word of the book is in some passage
    assert sum(p.word_count for p in passages) >= book.word_count
    if book.word_count > 2000:
        assert len(keywords.key_concepts(keywords.candidates([c.text for c in book.chapters]))) >= 5
