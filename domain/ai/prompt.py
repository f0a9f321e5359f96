"""The prompt for an ask (ARCHITECTURE.md §5): numbered passages, the attached text, the
chapter when given, the feature's own instruction, the thread's history; and the
citations `[n]` an answer actually makes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from domain.ai.models import Citation, Source
from domain.books.search import Hit

CHAPTER_CHARS = 12_000  # of a chapter given for context (about 3,000 tokens)
MAX_TOKENS = 1024
# the reader's ai_preferences.response_length: what the model is asked for, and the
# tokens it may spend (a brief answer is cut short rather than left to run on)
LENGTHS = {
    "brief": ("Be brief: two or three sentences, or a short list.", 300),
    "detailed": ("Be thorough but focused: a few short paragraphs at most.", MAX_TOKENS),
}

FEATURES = {
    "chat": "Answer the reader's question about the book.",
    "explain": (
        "Explain the attached text to the reader: what it means, why it matters at this "
        "point in the book, and any difficult words or references in it."
    ),
    "summarize": (
        "Summarize what the reader asks about (the chapter or text given, else the "
        "passages) in a few short paragraphs, keeping the order of events or ideas."
    ),
    "define": (
        "Define the word or phrase the reader asks about as it is used in this book, in "
        "two or three sentences, then quote where it appears."
    ),
}
_CITATION = re.compile(r"\[(\d{1,3})\]")


@dataclass
class Prompt:
    """What a model is sent, and the parts it was built from (the offline answerer works
    from those)."""

    system: str
    messages: list[dict[str, str]]
    feature: str
    question: str
    passages: list[Hit]
    attached_text: str | None = None
    chapter_text: str | None = None
    history: list[dict[str, str]] = field(default_factory=list)
    max_tokens: int = MAX_TOKENS
    length: str = "detailed"


def build(
    *,
    book_title: str,
    author: str | None,
    feature: str,
    question: str,
    passages: list[Hit],
    attached_text: str | None,
    chapter: dict[str, Any] | None,
    history: list[dict[str, str]],
    spoiler_safe: bool,
    length: str = "detailed",
) -> Prompt:
    """`length`: brief or detailed (anything else is detailed)."""
    length = length if length in LENGTHS else "detailed"
    instruction, max_tokens = LENGTHS[length]
    by = f" by {author}" if author else ""
    rules = [
        f"You are BookMind, a reading companion for the book \u201c{book_title}\u201d{by}.",
        FEATURES[feature],
        "Ground the answer in the numbered passages below, which come from the book. "
        "Cite the passages you use as [1], [2] \u2026 right after the sentence they "
        "support. If the passages do not hold the answer, say so plainly rather than "
        "guessing, and do not invent quotations.",
        f"{instruction} Write plain text.",
    ]
    if spoiler_safe:
        rules.append(
            "The reader has not finished the book. The passages stop where the reader has "
            "read to. Never reveal, hint at or confirm anything that happens later in the "
            "book, even if you know it: say that it comes later if asked."
        )
    parts = ["Passages from the book:"]
    for n, hit in enumerate(passages, 1):
        where = hit.chapter_title or "untitled"
        pages = f", p. {hit.start_page}" if hit.start_page else ""
        parts.append(f"[{n}] ({where}{pages})\n{hit.text}")
    if not passages:
        parts.append("(none found for this question)")
    if chapter is not None:
        parts.append(f"The chapter the reader is in, \u201c{chapter['title']}\u201d:\n"
                     f"{chapter['content']}")  # fmt: skip
    if attached_text:
        parts.append(f"The text the reader selected:\n\u201c{attached_text}\u201d")
    parts.append(f"The reader asks: {question}")
    messages = [*history, {"role": "user", "content": "\n\n".join(parts)}]
    return Prompt(
        system="\n\n".join(rules), messages=messages, feature=feature, question=question,
        passages=passages, attached_text=attached_text,
        chapter_text=chapter["content"] if chapter else None, history=history,
        max_tokens=max_tokens, length=length,
    )  # fmt: skip


def thread(earlier: dict[str, Any] | None) -> list[dict[str, str]]:
    """The turns of an earlier exchange and its own history, oldest first (the last
    ten turns: older ones cost tokens and rarely matter)."""
    if earlier is None:
        return []
    turns = list(earlier["conversation_history"] or [])
    turns.append({"role": "user", "content": earlier["question"]})
    if earlier["answer"]:
        turns.append({"role": "assistant", "content": earlier["answer"]})
    else:  # an answer that failed before any text: keep the roles alternating
        turns.pop()
    return turns[-10:]


def citations(answer: str, sources: list[Source]) -> list[Citation]:
    """The sources the answer cites, in the order first cited, each once."""
    seen: list[int] = []
    for match in _CITATION.finditer(answer):
        n = int(match.group(1))
        if 1 <= n <= len(sources) and n not in seen:
            seen.append(n)
    return [Citation(source=n, chunk_id=sources[n - 1].chunk_id) for n in seen]
