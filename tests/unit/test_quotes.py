"""Finding quotes in a book's text (domain/anchoring/quotes.py), on Pride and Prejudice as
BookMind reads it: exact despite typography, approximate despite OCR-like errors, told
apart by context or hint, and never placed at a wrong place."""

from __future__ import annotations

import random
from functools import cache

import pytest

from domain.anchoring.quotes import Quote, locate, normalise, selector
from domain.books.parse_epub import parse_epub
from tests.services import CORPUS


@cache
def book() -> str:
    parsed = parse_epub((CORPUS / "pride-and-prejudice_pg1342_epub2.epub").read_bytes())
    return "\n\n".join(c.text for c in parsed.chapters)


def span_of(words: str) -> tuple[int, int]:
    start = book().index(words)
    return start, start + len(words)


FAMOUS = "It is a truth universally acknowledged, that a single man in possession"


def test_a_quote_is_found_exactly_whatever_its_typography() -> None:
    text = normalise(book())
    start, end = span_of(FAMOUS)
    typeset = FAMOUS.replace(",", ",\n  ").upper()  # reflowed and re-cased
    found = locate(text, Quote(typeset))
    assert found is not None and found.exact and (found.start, found.end) == (start, end)
    curly = "\u201cWhat is his name?\u201d"
    plain = '"What is his name?"'
    assert plain in book()
    found = locate(text, Quote(curly))
    assert found is not None and found.start == book().index(plain)


def test_a_word_broken_across_lines_is_the_word() -> None:
    text = normalise("The gentle-\nman arrived, a well-known man.")
    found = locate(text, Quote("gentleman arrived"))
    assert found is not None and (found.start, found.end) == (4, 23)
    assert locate(text, Quote("well-known")) is not None  # a real hyphen stays


def test_ocr_errors_are_found_approximately_at_the_right_place() -> None:
    start, end = span_of(FAMOUS)
    quote = FAMOUS.replace("m", "rn").replace("l", "1", 2)  # rn for m, 1 for l
    found = locate(normalise(book()), Quote(quote))
    assert found is not None and not found.exact and found.confidence >= 0.85
    assert abs(found.start - start) <= 2 and abs(found.end - end) <= 2


def test_a_short_common_phrase_is_placed_only_when_context_or_hint_decides() -> None:
    text = normalise(book())
    phrase = "said Elizabeth"
    assert book().count(phrase) > 5
    assert locate(text, Quote(phrase)) is None  # anywhere: nowhere
    at = [i for i in range(len(book())) if book().startswith(phrase, i)][3]
    with_context = selector(book(), at, at + len(phrase))
    found = locate(text, with_context)
    assert found is not None and found.start == at


def test_a_hint_decides_between_far_apart_repeats() -> None:
    filler = "Some words between the two. " * 400
    text = "The same sentence again. " + filler + "The same sentence again. " + filler
    second = text.index("The same sentence again.", 10)
    found = locate(normalise(text), Quote("The same sentence again.", hint=second / len(text)))
    assert found is not None and found.start == second
    assert locate(normalise(text), Quote("The same sentence again.")) is None


def test_text_from_another_book_is_not_placed() -> None:
    assert (
        locate(normalise(book()), Quote("Call me Ishmael. Some years ago, never mind how long"))
        is None
    )
    assert locate(normalise(book()), Quote("   ")) is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_changed_quotes_are_placed_right_or_not_at_all(seed: int) -> None:
    """An edition's or a scanner's changes to 60 random passages: each is placed where
    it was, or reported unmatched; none lands elsewhere."""
    rng = random.Random(seed)
    text, original = normalise(book()), book()
    placed = 0
    for _ in range(60):
        start = rng.randrange(0, len(original) - 400)
        end = start + rng.randrange(30, 300)
        words = list(original[start:end])
        for _ in range(rng.randrange(0, max(1, len(words) // 15))):  # up to ~7% changed
            i = rng.randrange(len(words))
            words[i] = rng.choice(["", "e", "c", "rn", "'", " ", words[i].upper()])
        quote = selector(original, start, end)
        found = locate(text, Quote("".join(words), quote.prefix, quote.suffix))
        if found is not None:
            placed += 1
            assert abs(found.start - start) <= 6 and abs(found.end - end) <= 6, (start, end)
    assert placed >= 50


def test_a_quote_with_words_left_out_spans_from_its_first_words_to_its_last() -> None:
    text = normalise(book())
    start, end = span_of(FAMOUS)
    elided = "It is a truth universally acknowledged \u2026 in possession"
    found = locate(text, Quote(elided))
    assert found is not None and (found.start, found.end) == (start, end)
    assert locate(text, Quote("It is a truth universally acknowledged... Call me Ishmael")) is None
    leading = locate(text, Quote("...a truth universally acknowledged, that a single man"))
    assert leading is not None and leading.start == start + len("It is ")
