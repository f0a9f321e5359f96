"""ISBNs: checked by their check digit, stored in both forms where both exist (an
ISBN-13 starting 979 has no ISBN-10)."""

from __future__ import annotations

import re

# "ISBN 978-0-14-143951-8", "ISBN-10: 0-14-143951-3", "urn:isbn:9780141439518"
_IN_TEXT = re.compile(r"ISBN(?:-1[03])?[:\s]*((?:97[89][\s-]?)?(?:\d[\s-]?){9}[\dXx])", re.I)
_BARE = re.compile(r"^(?:urn:)?(?:isbn:?)?\s*([\dXx][\d\sXx-]{8,20})$", re.I)


def _digits(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw).upper()


def _valid10(d: str) -> bool:
    if not re.fullmatch(r"\d{9}[\dX]", d):
        return False
    total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(d))
    return total % 11 == 0


def _check13(first12: str) -> str:
    total = sum(int(c) * (3 if i % 2 else 1) for i, c in enumerate(first12))
    return str((10 - total % 10) % 10)


def _valid13(d: str) -> bool:
    return bool(re.fullmatch(r"97[89]\d{10}", d)) and _check13(d[:12]) == d[12]


def forms(raw: str) -> tuple[str | None, str] | None:
    """(ISBN-10 or None, ISBN-13) for a valid ISBN in either form, else None."""
    match = _BARE.match(raw.strip())
    d = _digits(match.group(1)) if match else _digits(raw)
    if _valid13(d):
        if not d.startswith("978"):
            return None, d
        body = d[3:12]
        check = sum((10 - i) * int(c) for i, c in enumerate(body)) % 11
        return body + ("X" if (11 - check) % 11 == 10 else str((11 - check) % 11)), d
    if _valid10(d):
        return d, "978" + d[:9] + _check13("978" + d[:9])
    return None


def find(text: str) -> tuple[str | None, str] | None:
    """The first valid ISBN a text names after the word ISBN (a copyright page)."""
    for match in _IN_TEXT.finditer(text):
        found = forms(match.group(1))
        if found:
            return found
    return None
