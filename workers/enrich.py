"""What the AI adds after the fact: chapter and book summaries once a book is ingested
(`books.summarize`), and each highlight's importance and analysis (`highlights.analyze`,
scheduled, in batches).

Highlights are scored without a model, on every deployment alike: the score must rank
highlights consistently whether or not a key is set, and one model call per highlight
would cost more than the ranking is worth. The score mixes how central the text is to
the book (its embedding against the book's centroid), how many of the book's key
concepts it holds, and how many readers highlighted the same place."""

from __future__ import annotations

import asyncio
import logging
import math
import re
from typing import Any
from uuid import UUID

import msgspec
from pgvector import Vector

from domain.ai import summaries
from domain.ai.prompt import Prompt
from domain.reading import highlights
from server.answerers import make_answerer
from workers import context
from workers.broker import broker
from workers.schedule import run_once

log = logging.getLogger(__name__)

ANALYZE_BATCH = 500
# chapters of one book summarized by the model at most; later ones are extractive
MODEL_CHAPTERS = 60
_WORD = re.compile(r"[^\W\d_]+")


@broker.task(task_name="books.summarize")
async def summarize_task(book_id: str) -> dict[str, Any]:
    return await summarize_book(UUID(book_id))


async def summarize_book(book_id: UUID) -> dict[str, Any]:
    """Chapter summaries and the book's overview. What a copy of the same file already
    has (same-file reuse copied it) is kept, not asked of the model again; and at most
    MODEL_CHAPTERS chapters of one book go to the model (the rest are extractive), so one
    upload of a 1,000-chapter file cannot buy a thousand model calls."""
    res = context.current()
    rows = await res.pool.fetch(
        """SELECT id, title, content, ai_summary, key_points FROM book_chapters
           WHERE book_id = $1 ORDER BY chapter_number""",
        book_id,
    )
    if not rows:
        return {"chapters": 0}
    if all(r["ai_summary"] for r in rows) and await res.pool.fetchval(
        "SELECT ai_summary IS NOT NULL FROM books WHERE id = $1", book_id
    ):
        return {"chapters": len(rows), "by_model": False, "reused": True}
    by_model = res.settings.anthropic_api_key is not None
    made: list[summaries.Summary] = []
    for i, row in enumerate(rows):
        summary = None
        if row["ai_summary"]:
            summary = summaries.Summary(row["ai_summary"], list(row["key_points"] or []))
        elif by_model and i < MODEL_CHAPTERS:
            summary = await _model_summary(f"the chapter \u201c{row['title']}\u201d",
                                           row["content"][: summaries.MODEL_CHARS])  # fmt: skip
        if summary is None:
            summary = await asyncio.to_thread(summaries.extractive_chapter, row["content"])
        made.append(summary)
    # the book's overview draws on its opening quarter only: it must not spoil the ending
    opening = max(1, math.ceil(len(rows) / 4))
    book = None
    if by_model:
        digest = "\n\n".join(s.text for s in made[:opening])
        book = await _model_summary("the opening of the book (a spoiler-free overview)", digest)
    if book is None:
        book = await asyncio.to_thread(
            summaries.extractive_book, [r["content"] for r in rows[:opening]],
            [s.key_points for s in made[:opening]],
        )  # fmt: skip
    async with res.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            """UPDATE book_chapters c SET ai_summary = u.summary, key_points = u.points::jsonb
               FROM unnest($1::uuid[], $2::text[], $3::text[]) AS u(id, summary, points)
               WHERE c.id = u.id""",
            [r["id"] for r in rows], [s.text for s in made],
            [msgspec.json.encode(s.key_points).decode() for s in made],
        )  # fmt: skip
        await conn.execute("UPDATE books SET ai_summary = $2 WHERE id = $1", book_id, book.text)
    return {"chapters": len(rows), "by_model": by_model}


async def _model_summary(what: str, text: str) -> summaries.Summary | None:
    """One summary from the configured model, or None (the caller falls back)."""
    res = context.current()
    answerer = make_answerer(res.settings, res.embedder)
    prompt = Prompt(
        system=summaries.SUMMARY_SYSTEM,
        messages=[{"role": "user", "content": f"Summarize {what}:\n\n{text}"}],
        feature="summarize", question=f"Summarize {what}", passages=[], max_tokens=500,
    )  # fmt: skip
    try:
        pieces = [piece async for piece in answerer.stream(prompt)]
    except Exception as exc:  # a failed summary is not a failed book
        log.warning("model summary failed (%s); using the extractive one", exc)
        return None
    return summaries.parse_model_summary("".join(pieces))


async def analyze_highlights(pool: Any) -> dict[str, int]:
    """Score the highlights that have no score yet, book by book."""
    res = context.current()
    rows = await pool.fetch(
        """SELECT h.id, h.book_id, h.selected_text, h.start_offset, h.end_offset,
                  b.key_concepts, b.topics,
                  (SELECT count(*) FROM highlights o
                   WHERE o.book_id = h.book_id AND o.id <> h.id AND o.deleted_at IS NULL
                     AND o.start_offset < h.end_offset AND o.end_offset > h.start_offset
                     -- what others keep private is theirs: it must not move a score
                     -- that reveals where they highlighted
                     AND (o.public OR o.user_id = h.user_id))
                   AS others
           FROM highlights h JOIN books b ON b.id = h.book_id
           WHERE h.ai_importance_score IS NULL AND h.deleted_at IS NULL
           ORDER BY h.created_at LIMIT $1""",
        ANALYZE_BATCH,
    )
    if not rows:
        return {"analyzed": 0}
    vectors = await asyncio.to_thread(res.embedder.embed, [r["selected_text"] for r in rows])
    books: dict[UUID, tuple[Any, list[list[float]]]] = {}  # centroid, topic vectors
    updates = []
    for row, vector in zip(rows, vectors, strict=True):
        book_id = row["book_id"]
        if book_id not in books:
            centroid = await pool.fetchval(
                "SELECT avg(embedding) FROM book_embeddings WHERE book_id = $1", book_id
            )
            topics = list(row["topics"])
            topic_vectors = await asyncio.to_thread(res.embedder.embed, topics) if topics else []
            books[book_id] = (centroid, topic_vectors)
        updates.append(_analysis(row, vector, *books[book_id]))
    scored = [(row["id"], score, analysis)
              for row, (score, analysis) in zip(rows, updates, strict=True)]  # fmt: skip
    async with pool.acquire() as conn:
        stored = await highlights.store_analyses(conn, scored)
    res.publish(stored)
    return {"analyzed": len(rows)}


def _analysis(row: Any, vector: list[float], centroid: Vector | None,
              topic_vectors: list[list[float]]) -> tuple[float, dict[str, Any]]:  # fmt: skip
    words = " ".join(_WORD.findall(row["selected_text"].lower()))
    concepts = [c for c in row["key_concepts"] if f" {c} " in f" {words} "]
    centrality = 0.0
    if centroid is not None:
        c = centroid.to_list()
        norm = math.sqrt(sum(x * x for x in c)) or 1.0
        # cosine to the centroid of unit vectors: 0.2 is typical, 0.6 very central
        cosine = sum(a * b for a, b in zip(vector, c, strict=True)) / norm
        centrality = min(1.0, max(0.0, (cosine - 0.1) / 0.5))
    community = min(1.0, math.log1p(row["others"]) / math.log(10))
    score = round(0.5 * centrality + 0.3 * min(1.0, len(concepts) / 3) + 0.2 * community, 4)
    themes = _themes(list(row["topics"]), topic_vectors, vector)
    return score, {"concepts": concepts, "themes": themes,
                   "centrality": round(centrality, 4), "readers_here": row["others"],
                   "method": "offline"}  # fmt: skip


def _themes(topics: list[str], topic_vectors: list[list[float]], vector: list[float]) -> list[str]:
    """The book's topics nearest the highlight in meaning (at most two)."""
    scored = sorted(
        zip(topic_vectors, topics, strict=True),
        key=lambda tv: -sum(a * b for a, b in zip(tv[0], vector, strict=True)),
    )
    return [t for _, t in scored[:2]]


@broker.task(task_name="highlights.analyze", schedule=[{"cron": "*/2 * * * *"}])
async def analyze_task() -> dict[str, Any] | None:
    return await run_once("highlights.analyze", 120, analyze_highlights)
