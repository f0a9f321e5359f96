"""The chunker on real corpus text: exact slices, sizes within the model's window,
overlap, and pages within the chapter."""

from __future__ import annotations

import itertools

import pytest

from domain.books.chunk import MAX_WORDS, chunk_chapters
from domain.books.detect import detect_type
from domain.books.parse import parse_book
from tests.services import CORPUS


@pytest.mark.parametrize(
    "name",
    [
        "pride-and-prejudice_pg1342_epub2.epub",
        "geotopo_de_outline.pdf",
        "autogen-paper-excerpt.docx",
        "origin-of-species_mobi6.mobi",
    ],
)
def test_passages_are_exact_slices_within_the_window(name: str) -> None:
    data = (CORPUS / name).read_bytes()
    kind = detect_type(data)
    assert kind is not None
    book = parse_book(data, kind)
    text = book.text
    passages = chunk_chapters(book.chapters)
    assert passages
    assert [p.index for p in passages] == list(range(len(passages)))
    for p in passages:
        assert text[p.start_offset : p.end_offset] == p.text
        assert 1 <= p.word_count <= MAX_WORDS
        chapter = book.chapters[p.chapter_number - 1]
        assert chapter.start_offset <= p.start_offset < p.end_offset <= chapter.end_offset
        assert chapter.start_page <= p.start_page <= p.end_page <= chapter.end_page
    # consecutive passages of a chapter overlap a little or touch, never leave text out
    for a, b in itertools.pairwise(passages):
        if a.chapter_number == b.chapter_number:
            assert b.start_offset <= a.end_offset + 3
            assert b.start_offset > a.start_offset
    covered = sum(p.word_count for p in passages)
    assert book.word_count <= covered <= book.word_count * 1.4


def test_a_text_without_punctuation_is_cut_by_words() -> None:
    from domain.books.parsed import Section, assemble

    book = assemble("t", None, [Section("one", " ".join(["word"] * 1000))], None)
    passages = chunk_chapters(book.chapters)
    assert all(p.word_count <= MAX_WORDS for p in passages)
    assert passages[-1].end_offset == book.chapters[0].end_offset
