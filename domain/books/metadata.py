"""Book metadata computed from its text: reading time and a difficulty level."""

from __future__ import annotations

import math
import re

WORDS_PER_MINUTE = 250
_SENTENCE = re.compile(r"[.!?]+(?:\s|$)")
_WORD = re.compile(r"[A-Za-zÀ-ÿ]+")
_VOWELS = re.compile(r"[aeiouyàâäéèêëïîôöùûü]+", re.IGNORECASE)


def reading_time_minutes(words: int) -> int:
    return max(1, math.ceil(words / WORDS_PER_MINUTE)) if words else 0


def _syllables(word: str) -> int:
    count = len(_VOWELS.findall(word))
    if word.lower().endswith("e") and count > 1:
        count -= 1
    return max(1, count)


def difficulty_level(text: str, sample_chars: int = 200_000) -> int | None:
    """1-10 from the Flesch-Kincaid grade level of (a sample of) the text: grade 1 or
    below is 1, grade 16 (graduate) or above is 10."""
    sample = text[:sample_chars]
    words = _WORD.findall(sample)
    sentences = max(1, len(_SENTENCE.findall(sample)))
    if len(words) < 100:
        return None
    syllables = sum(_syllables(w) for w in words)
    grade = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    return int(min(10, max(1, round(1 + (grade - 1) * 9 / 15))))
