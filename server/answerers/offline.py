"""The offline answerer: no language model, so it answers with the book's own words.

It picks the sentences of the retrieved passages that are nearest the question in
meaning (the same local embedding model that indexed the book), keeps the book's order
within each passage, quotes them with their `[n]` citations, and streams the result
word by word like a model would. `model` says plainly that it is offline."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from decimal import Decimal

from domain.ai.prompt import Prompt
from domain.books.chunk import sentence_spans
from domain.ports import Embedder, Usage
from server.answerers.stream import PieceStream

MODEL = "offline-extractive (no language model)"
PICK = {"chat": 4, "explain": 4, "define": 3, "summarize": 6}
_PIECE = re.compile(r"\S+\s*")
_WORD = re.compile(r"[^\W_]+")
_MIN_SENTENCE_WORDS = 4


class OfflineAnswerer:
    provider = "offline"
    model = MODEL

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def stream(self, prompt: Prompt) -> _Stream:
        return _Stream(self._embedder, prompt)

    def cost_usd(self, usage: Usage | None) -> Decimal:
        return Decimal(0)


class _Stream(PieceStream):
    def __init__(self, embedder: Embedder, prompt: Prompt) -> None:
        super().__init__()
        self._embedder = embedder
        self._prompt = prompt

    async def _run(self) -> AsyncGenerator[str, None]:
        text = await asyncio.to_thread(compose, self._embedder, self._prompt)
        for piece in _PIECE.findall(text):
            yield piece
            await asyncio.sleep(0)  # word by word, letting other streams go on


def compose(embedder: Embedder, prompt: Prompt) -> str:
    """The answer's text (blocking: embeds the candidate sentences)."""
    intro = "Offline answer, quoted from the book (no language model is configured)."
    candidates: list[tuple[int, int, str]] = []  # (source number, position, sentence)
    for n, hit in enumerate(prompt.passages, 1):
        for position, (s, e) in enumerate(sentence_spans(hit.text)):
            sentence = " ".join(hit.text[s:e].split())
            if len(sentence.split()) >= _MIN_SENTENCE_WORDS:
                candidates.append((n, position, sentence))
    if not candidates:
        return (f"{intro}\n\nI found nothing in the part of the book you have read that "
                "speaks to this question.")  # fmt: skip
    query = prompt.question
    if prompt.attached_text:
        query = f"{prompt.attached_text}\n{query}"
    pick = PICK.get(prompt.feature, 4)
    if prompt.length == "brief":  # the reader asked for short answers
        pick = max(1, pick // 3)
    chosen = _best(embedder, query, candidates, pick)
    lines = [intro, ""]
    if prompt.attached_text and prompt.feature in {"explain", "define"}:
        lines += [f"You selected: \u201c{_clip(prompt.attached_text, 300)}\u201d", ""]
    lead = {
        "chat": "What the book says that bears on your question:",
        "explain": "Where the book sheds light on it:",
        "define": "How the book uses it:",
        "summarize": "The key sentences, in the book's order:",
    }[prompt.feature]
    lines.append(lead)
    by_source: dict[int, list[str]] = {}
    for n, _, sentence in chosen:
        by_source.setdefault(n, []).append(sentence)
    for n, sentences in by_source.items():
        lines.append(f"\u2022 \u201c{' '.join(sentences)}\u201d [{n}]")
    return "\n".join(lines)


def _best(
    embedder: Embedder, query: str, candidates: list[tuple[int, int, str]], k: int
) -> list[tuple[int, int, str]]:
    vectors = embedder.embed([query] + [c[2] for c in candidates])
    q = vectors[0]
    terms = {w.lower() for w in _WORD.findall(query) if len(w) > 3}
    scored = []
    for candidate, v in zip(candidates, vectors[1:], strict=True):
        meaning = sum(a * b for a, b in zip(q, v, strict=True))
        words = {w.lower() for w in _WORD.findall(candidate[2])}
        # a rare word of the question in the sentence is strong evidence (a name, a term)
        lexical = 0.1 * len(terms & words)
        rank_prior = -0.02 * candidate[0]  # an earlier (better-ranked) source wins ties
        scored.append((meaning + lexical + rank_prior, candidate))
    top = sorted(scored, key=lambda s: -s[0])[:k]
    return sorted((c for _, c in top), key=lambda c: (c[0], c[1]))


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "\u2026"
