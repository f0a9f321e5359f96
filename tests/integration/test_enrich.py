"""Summaries after ingestion (extractive, and by the model through the real SDK against
the stand-in) and highlight importance, on a real book."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import UUID

import asyncpg
import pytest

from server.db import create_pool
from server.storage import LocalStorage
from tests.factories import make_user
from tests.ingested import ingest_corpus_book
from tests.services import session_settings
from tests.standin_anthropic import Scenario, StandIn
from workers import context
from workers.enrich import analyze_highlights, summarize_book


@pytest.fixture(scope="module")
async def alice(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[asyncpg.Pool, UUID, UUID]]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    files = LocalStorage(tmp_path_factory.mktemp("files"))
    context.bind(session_settings(), pool, files, lambda _: None)
    async with pool.acquire() as conn:
        user = await make_user(conn)
    book_id = await ingest_corpus_book(pool, files, user, "alice-in-wonderland_epub3.epub",
                                       public=True)  # fmt: skip
    yield pool, user, book_id
    await pool.close()


async def test_extractive_summaries_quote_the_chapters(alice: tuple) -> None:  # type: ignore[type-arg]
    pool, _, book_id = alice
    assert (await summarize_book(book_id))["by_model"] is False
    chapters = await pool.fetch(
        "SELECT content, ai_summary, key_points FROM book_chapters WHERE book_id = $1 "
        "ORDER BY chapter_number", book_id,
    )  # fmt: skip
    long_ones = [c for c in chapters if len(c["content"].split()) > 300]
    assert long_ones
    for c in long_ones:
        points = c["key_points"]
        assert 1 <= len(points) <= 3 and c["ai_summary"] == " ".join(points)
        flat = " ".join(c["content"].split())
        assert all(p in flat for p in points)  # the book's own sentences
    overview = await pool.fetchval("SELECT ai_summary FROM books WHERE id = $1", book_id)
    # made of the opening quarter's key points only, in the book's order: no spoilers
    opening = [p for c in chapters[: (len(chapters) + 3) // 4] for p in c["key_points"]]
    used = [p for p in opening if p in overview]
    assert len(used) >= 2 and overview == " ".join(used)


async def test_model_summaries_through_the_sdk(alice: tuple, tmp_path: Path) -> None:  # type: ignore[type-arg]
    pool, _, book_id = alice
    standin = StandIn(default=Scenario(
        tokens=["Alice falls ", "down a hole.", "\n\n", "- a rabbit\n", "- a hall of doors\n"],
        delay_s=0))  # fmt: skip
    await standin.start()
    try:
        settings = session_settings(anthropic_api_key="k", anthropic_base_url=standin.url)
        context.bind(settings, pool, LocalStorage(tmp_path), lambda _: None)
        # summaries once made are kept (a rerun pays nothing): start from none
        await pool.execute("UPDATE book_chapters SET ai_summary = NULL WHERE book_id = $1", book_id)
        await pool.execute("UPDATE books SET ai_summary = NULL WHERE id = $1", book_id)
        assert (await summarize_book(book_id))["by_model"] is True
    finally:
        await standin.stop()
    row = await pool.fetchrow(
        "SELECT ai_summary, key_points FROM book_chapters WHERE book_id = $1 "
        "ORDER BY chapter_number LIMIT 1", book_id,
    )  # fmt: skip
    assert row["ai_summary"] == "Alice falls down a hole."
    assert row["key_points"] == ["a rabbit", "a hall of doors"]
    assert "Summarize the chapter" in standin.requests[0]["messages"][0]["content"]


async def test_highlights_are_scored_and_analyzed(alice: tuple) -> None:  # type: ignore[type-arg]
    pool, owner, book_id = alice
    text = await pool.fetchval(
        "SELECT content FROM book_chapters WHERE book_id = $1 AND content ILIKE '%queen%' "
        "ORDER BY chapter_number DESC LIMIT 1", book_id,
    )  # fmt: skip
    at = text.lower().index("queen")
    central = " ".join(text[max(0, at - 200) : at + 200].split())
    async with pool.acquire() as conn:
        other, secretive = await make_user(conn), await make_user(conn)
        ids = {}
        for name, user, selected, start, public in [
            ("central", owner, central, 5000, False),
            ("echo", other, central, 5010, True),
            # another reader's private highlight here must not show in the analysis
            ("secret", secretive, central, 5005, False),
            ("trivial", owner, "and then", 90000, False),
        ]:
            ids[name] = await conn.fetchval(
                """INSERT INTO highlights (user_id, book_id, selected_text, page_number,
                       start_offset, end_offset, public)
                   VALUES ($1, $2, $3, 1, $4, $5, $6) RETURNING id""",
                user, book_id, selected, start, start + len(selected), public,
            )  # fmt: skip
    assert (await analyze_highlights(pool))["analyzed"] >= 3
    rows = {r["id"]: r for r in await pool.fetch(
        "SELECT id, ai_importance_score, ai_analysis FROM highlights WHERE id = ANY($1)",
        list(ids.values()))}  # fmt: skip
    central_row, trivial_row = rows[ids["central"]], rows[ids["trivial"]]
    assert central_row["ai_importance_score"] > trivial_row["ai_importance_score"]
    analysis = central_row["ai_analysis"]
    analysis = json.loads(analysis) if isinstance(analysis, str) else analysis
    assert "queen" in analysis["concepts"] and analysis["readers_here"] == 1
    assert analysis["themes"] and analysis["method"] == "offline"
    assert (await analyze_highlights(pool))["analyzed"] == 0  # each is scored once
    # the owner's devices heard the score, committed with it; the other readers nothing
    told = await pool.fetch(
        "SELECT channel, data FROM channel_events WHERE event = 'highlight.updated' "
        "AND data->>'id' = ANY($1::text[])", [str(i) for i in ids.values()],
    )  # fmt: skip
    by_id = {json.loads(r["data"])["id"] if isinstance(r["data"], str) else r["data"]["id"]:
             (r["channel"], r["data"]) for r in told}  # fmt: skip
    assert by_id[str(ids["central"])][0] == f"user:{owner}"
    assert by_id[str(ids["echo"])][0] == f"user:{other}"
    central_event = by_id[str(ids["central"])][1]
    central_event = json.loads(central_event) if isinstance(central_event, str) else central_event
    assert central_event["ai_importance_score"] == central_row["ai_importance_score"]
    assert central_event["ai_analysis"]["concepts"] == analysis["concepts"]


async def test_a_copy_of_the_same_file_costs_no_model_calls(
    alice: tuple,  # type: ignore[type-arg]
    tmp_path: Path,
) -> None:
    pool, _, book_id = alice
    standin = StandIn(default=Scenario(tokens=["A summary.", "\n\n", "- a point\n"], delay_s=0))
    await standin.start()
    try:
        settings = session_settings(anthropic_api_key="k", anthropic_base_url=standin.url)
        files = LocalStorage(tmp_path)
        context.bind(settings, pool, files, lambda _: None)
        await pool.execute("UPDATE book_chapters SET ai_summary = NULL WHERE book_id = $1", book_id)
        await pool.execute("UPDATE books SET ai_summary = NULL WHERE id = $1", book_id)
        await summarize_book(book_id)
        paid = len(standin.requests)
        assert paid >= 2  # its chapters and its overview went to the model
        async with pool.acquire() as conn:
            other = await make_user(conn)
        copy = await ingest_corpus_book(pool, files, other, "alice-in-wonderland_epub3.epub")
        result = await summarize_book(copy)
        assert result.get("reused") is True
        assert len(standin.requests) == paid  # nothing asked of the model again
    finally:
        await standin.stop()
    summaries = await pool.fetch(
        "SELECT book_id, array_agg(ai_summary ORDER BY chapter_number) AS s FROM book_chapters "
        "WHERE book_id = ANY($1) GROUP BY book_id", [book_id, copy],
    )  # fmt: skip
    assert len(summaries) == 2 and summaries[0]["s"] == summaries[1]["s"]
    overview = "SELECT ai_summary FROM books WHERE id = $1"
    assert await pool.fetchval(overview, copy) == await pool.fetchval(overview, book_id)
