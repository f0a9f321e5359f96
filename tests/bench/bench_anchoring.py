"""Anchoring on real text (issue 17): highlights on corpus books are looked for in the
same book after realistic changes, and each is counted as placed exactly, approximately,
not placed (orphaned), or misplaced (the one count that must stay 0).

Changes, each on its own and all together: another edition's typography (curly quotes
and dashes), OCR-like character errors (~1 in 150 characters: rn/m, l/1, e/c, dropped
letters), inserted front matter (8,000 characters), and re-flowed lines with words
hyphenated across them. The baseline, printed beside, is exact string search of the
quote (what an importer without anchoring does): placed only when unique.

    python -m tests.bench.bench_anchoring [--highlights 300] [--books 3]"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from collections.abc import Callable

from domain.anchoring.quotes import locate, normalise, selector
from domain.books.parse import parse_book
from tests.services import CORPUS

BOOKS = ["pride-and-prejudice_pg1342_epub2.epub", "sherlock-holmes_pg1661_epub2.epub",
         "moby-dick_epub3.epub"]  # fmt: skip
TOLERANCE = 6  # characters: a start or end this close to the true one is the right place

Edit = Callable[[random.Random, str], tuple[str, list[int]]]


def _by_char(rng: random.Random, text: str, change: Callable[[random.Random, str], str]
             ) -> tuple[str, list[int]]:  # fmt: skip
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        new = change(rng, ch)
        out.append(new)
        origin += [i] * len(new)
    return "".join(out), origin


def typography(rng: random.Random, text: str) -> tuple[str, list[int]]:
    swap = {'"': "\u201c", "'": "\u2019", "-": "\u2013"}
    return _by_char(rng, text, lambda r, ch: swap.get(ch, ch))


def ocr(rng: random.Random, text: str) -> tuple[str, list[int]]:
    errors = {"m": "rn", "l": "1", "e": "c", "o": "0", "h": "b"}

    def change(r: random.Random, ch: str) -> str:
        if r.random() >= 1 / 150:
            return ch
        return errors.get(ch, "") if r.random() < 0.8 else ""

    return _by_char(rng, text, change)


def front_matter(rng: random.Random, text: str) -> tuple[str, list[int]]:
    added = "Introduction to this edition. " * 266
    return added + text, [0] * len(added) + list(range(len(text)))


def reflow(rng: random.Random, text: str) -> tuple[str, list[int]]:
    def change(r: random.Random, ch: str) -> str:
        if ch == " " and r.random() < 1 / 12:
            return "\n"
        if ch.isalpha() and ch.islower() and r.random() < 1 / 400:
            return ch + "-\n"
        return ch

    return _by_char(rng, text, change)


def everything(rng: random.Random, text: str) -> tuple[str, list[int]]:
    origin = list(range(len(text)))
    for edit in (typography, ocr, reflow, front_matter):
        text, step = edit(rng, text)
        origin = [origin[i] for i in step]
    return text, origin


EDITS: dict[str, Edit] = {"typography": typography, "ocr": ocr, "front matter": front_matter,
                          "reflow": reflow, "all together": everything}  # fmt: skip


def _true_span(origin: list[int], start: int, end: int) -> tuple[int, int]:
    import bisect

    return bisect.bisect_left(origin, start), bisect.bisect_left(origin, end)


def run(highlights: int, books: int) -> None:
    print(f"{'change':<14}{'method':<10}{'exact':>7}{'approx':>8}{'orphan':>8}{'wrong':>7}"
          f"{'ms/quote':>10}")  # fmt: skip
    for name, edit in EDITS.items():
        counts: dict[str, Counter[str]] = {"bookmind": Counter(), "baseline": Counter()}
        spent = {"bookmind": 0.0, "baseline": 0.0}
        for book_name in BOOKS[:books]:
            parsed = parse_book((CORPUS / book_name).read_bytes(), "epub")
            original = "\n\n".join(c.text for c in parsed.chapters)
            rng = random.Random(17)
            changed, origin = edit(rng, original)
            index = normalise(changed)
            for _ in range(highlights // books):
                start = rng.randrange(0, len(original) - 600)
                end = start + rng.randrange(25, 400)
                quote = selector(original, start, end)
                want = _true_span(origin, start, end)
                t = time.perf_counter()
                found = locate(index, quote)
                spent["bookmind"] += time.perf_counter() - t
                t = time.perf_counter()
                at = changed.find(quote.exact)
                unique = at >= 0 and changed.find(quote.exact, at + 1) < 0
                spent["baseline"] += time.perf_counter() - t
                for method, place, exact in (
                    ("bookmind", (found.start, found.end) if found else None,
                     bool(found and found.exact)),
                    ("baseline", (at, at + len(quote.exact)) if unique else None, True),
                ):  # fmt: skip
                    if place is None:
                        counts[method]["orphan"] += 1
                    elif abs(place[0] - want[0]) > TOLERANCE or abs(place[1] - want[1]) > TOLERANCE:
                        counts[method]["wrong"] += 1
                    else:
                        counts[method]["exact" if exact else "approx"] += 1
        total = (highlights // books) * books
        for method in ("bookmind", "baseline"):
            c = counts[method]
            print(f"{name:<14}{method:<10}"
                  + "".join(f"{c[k] / total:>{w}.1%}" for k, w in
                            (("exact", 7), ("approx", 8), ("orphan", 8), ("wrong", 7)))
                  + f"{spent[method] / total * 1000:>10.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--highlights", type=int, default=300)
    parser.add_argument("--books", type=int, default=3)
    args = parser.parse_args()
    run(args.highlights, args.books)
