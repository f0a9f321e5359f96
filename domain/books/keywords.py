"""Topics and key concepts by keyword extraction.

Candidates are runs of up to three content words between stop words and punctuation
(RAKE-style, so "mock turtle" stays one phrase). A candidate's weight is its frequency
times how widely it spreads over the chapters: a concept of the book recurs across it, a
word that fills one chapter is local colour. Key concepts are the best-weighted phrases.
Topics are chosen among the candidates by meaning (KeyBERT-style): those whose
embedding lies closest to the book's centroid, with maximal marginal relevance so the
five are not near-synonyms."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

KEY_CONCEPTS = 12
TOPICS = 5
TOPIC_CANDIDATES = 40
_MMR_DIVERSITY = 0.5
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"\u201c\u201d\u2014\u2013\n]")  # phrase boundaries
_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "almost",
        "also",
        "although",
        "always",
        "am",
        "among",
        "an",
        "and",
        "another",
        "any",
        "anybody",
        "anyone",
        "anything",
        "are",
        "around",
        "as",
        "at",
        "away",
        "back",
        "be",
        "became",
        "because",
        "become",
        "been",
        "before",
        "being",
        "below",
        "beside",
        "best",
        "better",
        "between",
        "both",
        "but",
        "by",
        "came",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "enough",
        "even",
        "ever",
        "every",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "go",
        "goes",
        "going",
        "gone",
        "got",
        "great",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "indeed",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "know",
        "last",
        "least",
        "less",
        "let",
        "like",
        "little",
        "long",
        "made",
        "make",
        "many",
        "may",
        "me",
        "might",
        "mine",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "never",
        "new",
        "next",
        "no",
        "nor",
        "not",
        "nothing",
        "now",
        "of",
        "off",
        "often",
        "oh",
        "old",
        "on",
        "once",
        "one",
        "only",
        "or",
        "other",
        "others",
        "otherwise",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "perhaps",
        "quite",
        "rather",
        "really",
        "said",
        "same",
        "say",
        "says",
        "see",
        "seemed",
        "seems",
        "shall",
        "she",
        "should",
        "since",
        "so",
        "some",
        "something",
        "still",
        "such",
        "take",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "therefore",
        "these",
        "they",
        "thing",
        "things",
        "think",
        "this",
        "those",
        "though",
        "thought",
        "through",
        "thus",
        "till",
        "time",
        "to",
        "too",
        "took",
        "toward",
        "towards",
        "two",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "very",
        "was",
        "way",
        "we",
        "well",
        "went",
        "were",
        "what",
        "whatever",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "within",
        "without",
        "would",
        "yes",
        "yet",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "mr",
        "mrs",
        "miss",
        "sir",
        "chapter",
        "page",
        "able",
        "across",
        "actually",
        "ago",
        "ah",
        "already",
        "answered",
        "anyway",
        "appeared",
        "asked",
        "began",
        "begin",
        "behind",
        "believe",
        "beyond",
        "big",
        "called",
        "came",
        "certain",
        "certainly",
        "clear",
        "close",
        "come",
        "comes",
        "coming",
        "cried",
        "day",
        "days",
        "dear",
        "different",
        "does",
        "end",
        "enough",
        "especially",
        "everything",
        "eyes",
        "face",
        "fact",
        "far",
        "felt",
        "find",
        "first",
        "found",
        "full",
        "gave",
        "give",
        "given",
        "glad",
        "going",
        "good",
        "half",
        "hand",
        "hands",
        "hardly",
        "head",
        "heard",
        "help",
        "high",
        "hold",
        "home",
        "hope",
        "hour",
        "however",
        "important",
        "instead",
        "kind",
        "knew",
        "known",
        "large",
        "later",
        "leave",
        "left",
        "less",
        "light",
        "likely",
        "line",
        "look",
        "looked",
        "looking",
        "lot",
        "main",
        "making",
        "matter",
        "mean",
        "means",
        "meant",
        "mind",
        "minute",
        "moment",
        "morning",
        "near",
        "nearly",
        "need",
        "night",
        "note",
        "number",
        "often",
        "open",
        "order",
        "part",
        "particular",
        "people",
        "place",
        "point",
        "possible",
        "present",
        "probably",
        "put",
        "quickly",
        "read",
        "ready",
        "reason",
        "replied",
        "right",
        "round",
        "run",
        "saw",
        "second",
        "seen",
        "sent",
        "set",
        "several",
        "short",
        "shown",
        "side",
        "simply",
        "small",
        "soon",
        "sort",
        "speak",
        "spoke",
        "stood",
        "sure",
        "table",
        "taken",
        "talk",
        "tell",
        "thank",
        "thousand",
        "three",
        "today",
        "told",
        "top",
        "tried",
        "true",
        "truly",
        "try",
        "turn",
        "turned",
        "understand",
        "used",
        "using",
        "usually",
        "want",
        "wanted",
        "whole",
        "wish",
        "word",
        "words",
        "work",
        "world",
        "year",
        "years",
        "young",
    ]
)
_URL = re.compile(r"\S+://\S+|www\.\S+|\S+@\S+\.\S+")


def candidates(chapter_texts: Sequence[str]) -> list[tuple[str, float]]:
    """(phrase, weight) best first."""
    counts: Counter[str] = Counter()
    spread: Counter[str] = Counter()
    for text in chapter_texts:
        seen: set[str] = set()
        for fragment in _BREAK.split(_URL.sub(".", text.lower())):
            run: list[str] = []
            for found in [*_WORD.findall(fragment), ""]:  # "" flushes the last run
                word = found.removesuffix("'s").removesuffix("\u2019s")
                if word and word not in _STOP and len(word) > 2 and word.isalpha():
                    run.append(word)
                    continue
                for size in (1, 2, 3):
                    for i in range(len(run) - size + 1):
                        phrase = " ".join(run[i : i + size])
                        counts[phrase] += 1
                        seen.add(phrase)
                run = []
        spread.update(seen)
    chapters = max(1, len(chapter_texts))
    weighted = {
        phrase: n * (1 + math.log(spread[phrase])) * (1 + 0.5 * phrase.count(" "))
        for phrase, n in counts.items()
        if n >= 3 and (spread[phrase] >= 2 or chapters == 1)
    }
    return sorted(weighted.items(), key=lambda kv: (-kv[1], kv[0]))


def key_concepts(ranked: list[tuple[str, float]], limit: int = KEY_CONCEPTS) -> list[str]:
    """The best phrases, skipping one already covered by a better phrase ("turtle" after
    "mock turtle") or covering one ("mock turtle soup" after "mock turtle")."""
    chosen: list[str] = []
    for phrase, _ in ranked:
        if any(_overlaps(phrase, c) for c in chosen):
            continue
        chosen.append(phrase)
        if len(chosen) == limit:
            break
    return chosen


def _overlaps(a: str, b: str) -> bool:
    wa, wb = set(a.split()), set(b.split())
    return wa <= wb or wb <= wa


def topics(
    ranked: list[tuple[str, float]],
    centroid: Sequence[float],
    embed: Callable[[list[str]], list[list[float]]],
    limit: int = TOPICS,
) -> list[str]:
    """Candidates nearest the book's meaning, diversified by maximal marginal relevance."""
    pool = key_concepts(ranked, TOPIC_CANDIDATES)
    if not pool or not any(centroid):
        return []
    vectors = embed(pool)
    norm = math.sqrt(sum(x * x for x in centroid)) or 1.0
    relevance = [sum(a * b for a, b in zip(v, centroid, strict=True)) / norm for v in vectors]
    chosen: list[int] = []
    while len(chosen) < min(limit, len(pool)):
        best, best_score = -1, -math.inf
        for i in range(len(pool)):
            if i in chosen:
                continue
            redundancy = max(
                (sum(a * b for a, b in zip(vectors[i], vectors[j], strict=True)) for j in chosen),
                default=0.0,
            )
            score = (1 - _MMR_DIVERSITY) * relevance[i] - _MMR_DIVERSITY * redundancy
            if score > best_score:
                best, best_score = i, score
        chosen.append(best)
    return [pool[i] for i in chosen]


def centroid(vectors: Sequence[Sequence[float]]) -> list[float]:
    if not vectors:
        return []
    dims = len(vectors[0])
    return [sum(v[d] for v in vectors) / len(vectors) for d in range(dims)]
