"""Keyword extraction on real books, and the chapter-count ceiling."""

from __future__ import annotations

from domain.books import keywords
from domain.books.parse import parse_book
from domain.books.parsed import MAX_CHAPTERS, SEPARATOR, Section, assemble, merge_tiny
from tests.services import CORPUS


def _ranked(name: str) -> list[tuple[str, float]]:
    kind = name.rsplit(".", 1)[1]
    book = parse_book((CORPUS / name).read_bytes(), kind)
    return keywords.candidates([c.text for c in book.chapters])


def test_key_concepts_are_the_books_own_words() -> None:
    alice = keywords.key_concepts(_ranked("alice-in-wonderland_epub3.epub"))
    assert {"alice", "rabbit", "queen", "duchess"} <= set(alice)
    assert len(alice) == keywords.KEY_CONCEPTS
    assert not {"said", "the", "and", "began", "http"} & set(alice)
    essay = keywords.key_concepts(_ranked("free-culture_lessig.pdf"))
    assert {"copyright", "culture", "law"} <= set(essay)


def test_phrases_are_kept_whole_and_not_repeated_as_parts() -> None:
    text = "The mock turtle sang. A mock turtle wept. Mock turtle soup? The mock turtle sighed."
    ranked = keywords.candidates([text, text])
    concepts = keywords.key_concepts(ranked)
    assert concepts[0] == "mock turtle"
    assert "turtle" not in concepts and "mock" not in concepts


def test_topics_follow_meaning_and_differ() -> None:
    ranked = [("whale", 9.0), ("whales", 8.0), ("ship", 7.0), ("tea", 6.0)]
    table = {"whale": [1.0, 0.0, 0.0], "whales": [0.98, 0.2, 0.0], "ship": [0.0, 0.0, 1.0],
             "tea": [0.0, 1.0, 0.0]}  # fmt: skip
    centre = [0.8, 0.0, 0.6]
    chosen = keywords.topics(ranked, centre, lambda ws: [table[w] for w in ws], limit=2)
    assert chosen == ["whale", "ship"]  # "whales" is nearer the centre but says nothing new


def test_thousands_of_tiny_chapters_are_merged_without_losing_text() -> None:
    sections = [Section(f"Entry {i}", f"Line number {i}.") for i in range(5000)]
    book = assemble("Glossary", None, sections, None)
    assert len(book.chapters) <= MAX_CHAPTERS
    assert book.chapters[0].title == "Entry 0"
    for i in (1, 2500, 4999):
        assert f"Entry {i}{SEPARATOR}Line number {i}." in book.text or i == 0
    assert book.text.count("Line number") == 5000
    for a, b in zip(book.chapters, book.chapters[1:], strict=False):
        assert b.start_offset == a.end_offset + len(SEPARATOR)


def test_a_normal_table_of_contents_is_untouched() -> None:
    sections = [Section(f"Chapter {i}", "text " * 10) for i in range(40)]
    assert merge_tiny(sections) is sections
