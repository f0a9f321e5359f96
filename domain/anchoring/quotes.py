"""Finding a quote in a book's text: where imports place highlights and where
re-anchoring moves them when the text changes.

Both sides are normalised first (NFKC, case, curly quotes and dashes, blank runs, soft
hyphens and words broken across lines), with a map back to the book's offsets. Then:
1. exact: every occurrence of the quote; several are told apart by the quote's prefix
   and suffix, then by the hinted position (a fraction of the book);
2. elided (`…` where the reader left words out): the first piece placed, the last one
   the nearest after it, the pieces between found between;
3. approximate (OCR errors, another edition's spelling): edlib's edit-distance search,
   around the places where pieces of the quote occur exactly, or over the whole text
   when none does; confidence is 1 - distance / length.
Anything below MIN_CONFIDENCE, shorter than MIN_APPROXIMATE characters for an
approximate match, or as good in two places with nothing to choose between them, is not
placed: unmatched is an answer, a wrong place never is."""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass

import edlib

MIN_CONFIDENCE = 0.85
MIN_APPROXIMATE = 20  # characters: a shorter quote is placed only when found exactly
CONTEXT = 32  # characters of prefix and suffix stored with a quote
SEED = 12  # length of the exact pieces that point the approximate search

_SAME = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u00b4`", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    "\u2026": "...",
    "\u00ad": "",  # soft hyphen
}


@dataclass(frozen=True)
class Normalised:
    """A text in matching form, with each of its characters' offset in the original."""

    text: str
    origin: list[int]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of normalised [start, end)."""
        first = self.origin[start] if start < len(self.origin) else len(self.original)
        last = self.origin[end - 1] + 1 if end > 0 else first
        return first, max(first, last)


def normalise(text: str) -> Normalised:
    out: list[str] = []
    origin: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            j = i
            while j < n and text[j].isspace():
                j += 1
            broken = (
                "\n" in text[i:j]
                and len(out) >= 2
                and out[-1] == "-"
                and out[-2].isalpha()
                and j < n
                and text[j].islower()
            )
            if broken:  # a word hyphenated across lines: the word
                out.pop()
                origin.pop()
            elif out and out[-1] != " ":
                out.append(" ")
                origin.append(i)
            i = j
            continue
        mapped = _SAME.get(ch)
        if mapped is None:
            mapped = ch.lower() if ch.isascii() else unicodedata.normalize("NFKC", ch).lower()
        for c in mapped:
            out.append(c)
            origin.append(i)
        i += 1
    while out and out[-1] == " ":
        out.pop()
        origin.pop()
    return Normalised("".join(out), origin, text)


@dataclass(frozen=True)
class Quote:
    exact: str
    prefix: str = ""
    suffix: str = ""
    hint: float | None = None  # where in the book, as a fraction of its text
    # a range of offsets known to hold the quote's start (a location the file's other
    # entries proved exact): decides between equal places when only one is inside
    window: tuple[int, int] | None = None


@dataclass(frozen=True)
class Anchor:
    start: int
    end: int
    confidence: float  # 1.0 for an exact match

    @property
    def exact(self) -> bool:
        return self.confidence >= 1.0


def _context_score(book: Normalised, start: int, end: int, quote: Quote) -> int:
    """How many characters of the quote's prefix and suffix sit right around it."""
    score = 0
    prefix, suffix = normalise(quote.prefix).text, normalise(quote.suffix).text
    before = book.text[max(0, start - len(prefix)) : start].rstrip()
    for a, b in zip(reversed(before), reversed(prefix.rstrip()), strict=False):
        if a != b:
            break
        score += 1
    after = book.text[end : end + len(suffix) + 1].lstrip()
    for a, b in zip(after, suffix.lstrip(), strict=False):
        if a != b:
            break
        score += 1
    return score


def _choose(book: Normalised, spans: list[tuple[int, int]], quote: Quote) -> tuple[int, int] | None:
    """One of several equally good places: the one its context points at, else the only
    one written exactly as quoted (case, typography), else the only one in the quote's
    window, else the one a clear hint points at; None when nothing tells them apart."""
    if len(spans) == 1:
        return spans[0]
    scored = sorted(((_context_score(book, s, e, quote), (s, e)) for s, e in spans), reverse=True)
    if scored[0][0] > scored[1][0]:
        return scored[0][1]
    best = [span for score, span in scored if score == scored[0][0]]
    original = [span for span in best if _original(book, span) == quote.exact.strip()]
    if len(original) == 1:
        return original[0]
    if quote.window is not None:
        low, high = quote.window
        inside = [span for span in best if low <= book.span(*span)[0] < high]
        if len(inside) == 1:
            return inside[0]
    if quote.hint is None:
        return None
    target = quote.hint * len(book.text)
    by_distance = sorted(best, key=lambda span: abs(span[0] - target))
    gap = abs(by_distance[1][0] - target) - abs(by_distance[0][0] - target)
    # a hint is a rough place (a Kindle location, a page): it decides only when clear
    return by_distance[0] if gap > 0.02 * len(book.text) else None


def _original(book: Normalised, span: tuple[int, int]) -> str:
    start, end = book.span(*span)
    return book.original[start:end]


def _exact(book: Normalised, needle: str) -> list[tuple[int, int]]:
    spans, at = [], book.text.find(needle)
    while at >= 0:
        spans.append((at, at + len(needle)))
        at = book.text.find(needle, at + 1)
    return spans


def _regions(book: Normalised, needle: str) -> list[tuple[int, int]]:
    """Stretches of the book where pieces of the quote occur exactly."""
    hits: list[int] = []
    for piece_at in range(0, max(1, len(needle) - SEED + 1), SEED):
        piece = needle[piece_at : piece_at + SEED]
        hits += [start - piece_at for start, _ in _exact(book, piece)[:50]]
    reach = len(needle) // 2 + SEED
    regions: list[tuple[int, int]] = []
    for hit in sorted(hits):
        low, high = max(0, hit - reach), min(len(book.text), hit + len(needle) + reach)
        if regions and low <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(regions[-1][1], high))
        else:
            regions.append((low, high))
    return regions


def _approximate(book: Normalised, needle: str) -> tuple[int, list[tuple[int, int]]]:
    """The least edit distance of the quote anywhere, and the places that reach it."""
    limit = int(len(needle) * (1 - MIN_CONFIDENCE))
    found: list[tuple[int, tuple[int, int]]] = []
    for low, high in _regions(book, needle) or [(0, len(book.text))]:
        result = edlib.align(needle, book.text[low:high], mode="HW", task="locations", k=limit)
        if result["editDistance"] < 0:
            continue
        for start, end in result["locations"]:
            found.append((result["editDistance"], (low + start, low + end + 1)))
    if not found:
        return -1, []
    best = min(d for d, _ in found)
    places: list[tuple[int, int]] = []
    for _, span in sorted(s for s in found if s[0] == best):
        if places and span[0] < places[-1][1]:  # the same place, aligned another way
            continue
        places.append(span)
    return best, places


def locate(book: Normalised, quote: Quote) -> Anchor | None:
    """Where `quote` is in the book (original offsets), or None when it cannot be placed
    surely."""
    needle = normalise(quote.exact).text
    if not needle:
        return None
    exact = _exact(book, needle)
    if exact:
        chosen = _choose(book, exact, quote)
        return None if chosen is None else Anchor(*book.span(*chosen), 1.0)
    parts = [p.strip() for p in _ELLIPSIS.split(quote.exact) if p.strip()]
    if "..." in needle and parts and parts != [quote.exact.strip()]:
        elided = _elided(book, quote, parts)
        if elided is not None:
            return elided
    if len(needle) < MIN_APPROXIMATE:
        return None
    distance, places = _approximate(book, needle)
    if not places:
        return None
    chosen = _choose(book, places, quote)
    confidence = 1 - distance / len(needle)
    if chosen is None or confidence < MIN_CONFIDENCE:
        return None
    return Anchor(*book.span(*chosen), min(confidence, 0.999))


_ELLIPSIS = re.compile(r"\s*(?:\u2026|\.\s?\.\s?\.|\[\.\.\.\])\s*")


def _elided(book: Normalised, quote: Quote, parts: list[str]) -> Anchor | None:
    """A quote with words left out (`…`): its first piece placed as a quote of its own,
    then the nearest of its last piece after it, not far, with every piece between in
    what lies between."""
    first = locate(book, Quote(parts[0], quote.prefix, "", quote.hint, quote.window))
    if first is None or len(parts) == 1:
        return first
    after = bisect.bisect_left(book.origin, first.end)
    piece = normalise(parts[-1]).text
    at = book.text.find(piece, after, after + 4 * len(quote.exact) + 200)
    if at < 0:
        return None
    start, end = book.span(at, at + len(piece))
    between = normalise(book.original[first.end : start]).text
    if any(normalise(p).text not in between for p in parts[1:-1]):
        return None
    return Anchor(first.start, end, min(first.confidence, 0.999))


def selector(text: str, start: int, end: int) -> Quote:
    """The quote selector stored with a position: its words and some context."""
    return Quote(text[start:end], text[max(0, start - CONTEXT) : start], text[end : end + CONTEXT])
