"""Passages for retrieval: about 250 words on paragraph and sentence boundaries with a
small overlap, each an exact slice of the book's text, so its offsets compare directly
with highlights and reading positions. Passages that long answer more questions in their
top five than ~120-word ones at equal returned text (tests/bench/bench_retrieval.py).

The embedding model (all-MiniLM-L6-v2) reads 256 word-pieces, about 190 English words,
and silently ignores the rest, and one vector for 250 words blurs the sentence a question
is about: each passage is also embedded as short overlapping windows, and search ranks a
passage by its best window."""

from __future__ import annotations

import re
from dataclasses import dataclass

from domain.books.parsed import Chapter

MAX_WORDS = 250
OVERLAP_WORDS = 40
WINDOW_WORDS = 120  # about 160 word-pieces: well inside what the model reads
WINDOW_STEP = 60
# the stored index's shape (passages, windows, model): books indexed under an older one
# are re-indexed by the `books.reindex` maintenance task (workers/reindex.py)
INDEX_VERSION = 2
# a sentence ends at . ! ? or an ellipsis, with closing quotes or brackets after it
_SENTENCE_END = re.compile("(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*\\s+|\n\n")


@dataclass(frozen=True)
class Passage:
    index: int
    chapter_number: int
    chapter_title: str
    text: str
    start_offset: int
    end_offset: int
    start_page: int
    end_page: int

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def windows(self) -> list[str]:
        """Overlapping runs of WINDOW_WORDS words covering the whole passage."""
        words = self.text.split()
        last = max(0, len(words) - WINDOW_WORDS)
        starts = [*range(0, last, WINDOW_STEP), last]
        return [" ".join(words[s : s + WINDOW_WORDS]) for s in starts]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans (start, end) in `text`, a long run without punctuation cut by words."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        words = list(re.finditer(r"\S+", text[s:e]))
        if not words:
            continue
        for i in range(0, len(words), MAX_WORDS):
            piece = words[i : i + MAX_WORDS]
            out.append((s + piece[0].start(), s + piece[-1].end()))
    return out


def _page(chapter: Chapter, offset: int) -> int:
    span = max(1, chapter.end_offset - chapter.start_offset)
    pages = chapter.end_page - chapter.start_page + 1
    within = min(pages - 1, (offset - chapter.start_offset) * pages // span)
    return chapter.start_page + max(0, within)


def chunk_chapters(chapters: list[Chapter]) -> list[Passage]:
    passages: list[Passage] = []
    for chapter in chapters:
        sentences = sentence_spans(chapter.text)
        i = 0
        while i < len(sentences):
            words = 0
            j = i
            while j < len(sentences):
                n = len(chapter.text[sentences[j][0] : sentences[j][1]].split())
                if words and words + n > MAX_WORDS:
                    break
                words += n
                j += 1
            s, e = sentences[i][0], sentences[j - 1][1]
            start, end = chapter.start_offset + s, chapter.start_offset + e
            first_page = _page(chapter, start)
            last_page = _page(chapter, max(start, end - 1))
            passage = Passage(len(passages), chapter.number, chapter.title,
                              chapter.text[s:e], start, end, first_page, last_page)  # fmt: skip
            passages.append(passage)
            if j >= len(sentences):
                break
            # step back over whole sentences worth about OVERLAP_WORDS for the next passage
            back, k = 0, j
            while k - 1 > i and back < OVERLAP_WORDS:
                k -= 1
                back += len(chapter.text[sentences[k][0] : sentences[k][1]].split())
            i = k if back <= OVERLAP_WORDS * 2 and k > i else j
    return passages
