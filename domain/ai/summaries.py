"""Chapter and book summaries with key points (the seed's `book_chapters.ai_summary`,
`key_points`, `books.ai_summary`): by the model when one is configured, else extractive.

Extractive: each sentence is scored by the weight of the chapter's key phrases it holds
(domain/books/keywords.py), per word so long sentences do not win by length, with a
small bonus for opening a chapter (authors state their subject early); the best few, in
the book's order, are the key points, and joined they are the summary."""

from __future__ import annotations

import math
from dataclasses import dataclass

from domain.books import keywords
from domain.books.chunk import sentence_spans

KEY_POINTS = 3
BOOK_POINTS = 5
MODEL_CHARS = 12_000  # of a chapter sent to the model
_MIN_WORDS, _MAX_WORDS = 6, 60


@dataclass
class Summary:
    text: str
    key_points: list[str]


def sentences(text: str) -> list[str]:
    out = []
    for s, e in sentence_spans(text):
        sentence = " ".join(text[s:e].split())
        if _MIN_WORDS <= len(sentence.split()) <= _MAX_WORDS:
            out.append(sentence)
    return out


def _score(sentence: str, weights: dict[str, float], position: int) -> float:
    lowered = f" {sentence.lower()} "
    hits = sum(w for phrase, w in weights.items() if f" {phrase} " in lowered)
    return hits / math.sqrt(len(sentence.split())) * (1.3 if position < 3 else 1.0)


def pick(candidates: list[str], weights: dict[str, float], n: int) -> list[str]:
    scored = sorted(range(len(candidates)), key=lambda i: -_score(candidates[i], weights, i))[:n]
    return [candidates[i] for i in sorted(scored)]


def extractive_chapter(text: str) -> Summary:
    ranked = keywords.candidates([text])
    weights = dict(ranked[:60])
    points = pick(sentences(text), weights, KEY_POINTS)
    if not points:  # a chapter of fragments (a title page, a list)
        points = [" ".join(text.split()[:40])] if text.strip() else []
    return Summary(" ".join(points), points)


def extractive_book(chapter_texts: list[str], chapter_points: list[list[str]]) -> Summary:
    weights = dict(keywords.candidates(chapter_texts)[:80])
    pool = [p for points in chapter_points for p in points]
    points = pick(pool, weights, BOOK_POINTS)
    return Summary(" ".join(points), points)


SUMMARY_SYSTEM = (
    "You summarize a part of a book for its reader. Write one paragraph of at most four "
    "sentences, then a blank line, then three to five key points, one per line, each "
    "starting with '- '. Plain text only, no headings."
)


def parse_model_summary(text: str) -> Summary | None:
    """The paragraph and the '- ' lines of a model's answer; None if it is unusable."""
    lines = [x.strip() for x in text.strip().splitlines()]
    points = [x[2:].strip() for x in lines if x.startswith(("- ", "* ", "\u2022 "))]
    paragraph = " ".join(x for x in lines if x and not x.startswith(("- ", "* ", "\u2022 ")))
    if not paragraph:
        return None
    return Summary(paragraph, points[:5])
