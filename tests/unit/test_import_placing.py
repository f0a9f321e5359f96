"""Placing imported entries (domain/imports/operations.place) in a book's text: a quote
found in several chapters goes into the one the entry names, or nowhere."""

from __future__ import annotations

from domain.anchoring.text import book_text
from domain.imports.formats import Entry
from domain.imports.operations import place

FIRST = "The Hatter opened his eyes very wide on hearing this; but all he said was, why?"
SECOND = "The March Hare took the watch and looked at it gloomily: but all he said was, why?"


def chapters() -> list[dict[str, object]]:
    rows, at = [], 0
    for n, (title, content) in enumerate([("A Mad Tea-Party", FIRST),
                                          ("The Queen's Croquet-Ground", SECOND)], 1):  # fmt: skip
        rows.append({"chapter_number": n, "title": title, "start_offset": at,
                     "end_offset": at + len(content), "start_page": n, "end_page": n,
                     "content": content})  # fmt: skip
        at += len(content) + 2
    return rows


def entry(chapter: str | None) -> Entry:
    return Entry("highlight", "Alice", None, "but all he said was, why?", chapter=chapter)


def test_a_quote_in_two_chapters_goes_into_the_one_the_entry_names() -> None:
    book = book_text("Alice", None, chapters())
    (named,) = place([(1, entry("The Queen's Croquet-Ground"))], book, {"alice"})
    assert named.start == book.text.index(SECOND) + SECOND.index("but all")
    (first,) = place([(1, entry("a mad  tea-party"))], book, {"alice"})  # case and blanks
    assert first.start == FIRST.index("but all")


def test_without_a_chapter_or_with_an_unknown_one_it_is_not_placed() -> None:
    book = book_text("Alice", None, chapters())
    for chapter in (None, "Pig and Pepper"):
        (unplaced,) = place([(1, entry(chapter))], book, {"alice"})
        assert unplaced.start is None and not unplaced.other_book
