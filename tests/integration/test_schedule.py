"""Scheduled jobs run once per slot however many schedulers fire them."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg

from server.storage import LocalStorage
from tests.services import session_settings
from workers import context
from workers.maintenance import ensure_partitions, refresh_views
from workers.schedule import run_once, slot_for


def test_slot_is_the_start_of_its_period() -> None:
    assert slot_for(300, now=1_000_000_123.4) == "2001-09-09T01:45:00+00:00"
    assert slot_for(300, now=1_000_000_199.9) == slot_for(300, now=1_000_000_123.4)
    assert slot_for(300, now=1_000_000_200.0) != slot_for(300, now=1_000_000_199.9)


async def test_two_schedulers_firing_one_slot_run_the_job_once(pool: asyncpg.Pool) -> None:
    context.bind(session_settings(), pool, LocalStorage(Path("/nonexistent")), lambda _: None)
    calls: list[int] = []

    async def body(_: asyncpg.Pool) -> dict[str, Any]:
        calls.append(1)
        await asyncio.sleep(0.05)
        return {"n": len(calls)}

    results = await asyncio.gather(*(run_once("test-job", 3600, body) for _ in range(5)))
    assert len(calls) == 1
    assert sum(r is not None for r in results) == 1
    row = await pool.fetchrow("SELECT * FROM scheduled_runs WHERE job = 'test-job'")
    assert row is not None
    assert row["finished_at"] is not None
    assert row["result"] == {"n": 1}


async def test_maintenance_jobs_do_their_work(pool: asyncpg.Pool) -> None:
    await pool.execute("DROP TABLE IF EXISTS reading_sessions_2099_01")
    created = await ensure_partitions(pool)
    assert set(created) == {"reading_sessions", "ai_conversations"}
    assert await ensure_partitions(pool) == {"reading_sessions": 0, "ai_conversations": 0}
    timings = await refresh_views(pool)
    assert set(timings) == {"user_reading_stats", "book_popularity_stats", "daily_platform_metrics"}


async def test_purge_drops_only_what_is_past_retention(pool: asyncpg.Pool) -> None:
    from domain.events import Event, append_events
    from tests.factories import make_book, make_user
    from workers.maintenance import purge_expired

    context.bind(
        session_settings(event_retention_days=7),
        pool,
        LocalStorage(Path("/nonexistent")),
        lambda _: None,
    )
    async with pool.acquire() as conn:
        user = await make_user(conn)
        book = await make_book(conn, user)
        async with conn.transaction():
            await append_events(
                conn, [Event(f"user:{user}", "x", {"n": i}) for i in range(3)], None
            )
        await conn.execute(
            "UPDATE channel_events SET created_at = now() - interval '8 days' "
            "WHERE channel = $1 AND seq <= 2", f"user:{user}"
        )  # fmt: skip
        ids = [
            await conn.fetchval(
                "INSERT INTO highlights (user_id, book_id, selected_text, page_number, deleted_at) "
                "VALUES ($1, $2, 'x', 1, now() - $3::interval) RETURNING id", user, book, age
            )
            for age in (timedelta(days=8), timedelta(days=1))
        ]  # fmt: skip
    counts = await purge_expired(pool)
    assert counts["channel_events"] == 2 and counts["highlights"] == 1
    left = await pool.fetch("SELECT seq FROM channel_events WHERE channel = $1", f"user:{user}")
    assert [r["seq"] for r in left] == [3]
    assert await pool.fetchval("SELECT count(*) FROM highlights WHERE id = ANY($1)", ids) == 1


async def test_clean_up_removes_exactly_what_the_retention_rules_say(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    from domain.social.files import quote_files_prefix
    from tests.factories import make_book, make_user
    from workers.maintenance import clean_old_data

    files = LocalStorage(tmp_path)
    context.bind(session_settings(), pool, files, lambda _: None)
    async with pool.acquire() as conn:
        free = await make_user(conn)
        pro = await make_user(conn)
        await conn.execute("UPDATE users SET subscription_tier = 'pro' WHERE id = $1", pro)
        lapsed = await make_user(conn)  # paid once: its period is over, so it is free
        await conn.execute("UPDATE users SET subscription_tier = 'pro', subscription_expires_at"
                           " = now() - interval '1 day' WHERE id = $1", lapsed)  # fmt: skip
        book = await make_book(conn, free)
        sessions = {
            age: await conn.fetchval(
                "INSERT INTO reading_sessions (user_id, book_id, started_at) "
                "VALUES ($1, $2, now() - $3::interval) RETURNING id", free, book, age)
            for age in (timedelta(days=366), timedelta(days=364))
        }  # fmt: skip
        conversations = {
            (who, age): await conn.fetchval(
                "INSERT INTO ai_conversations (user_id, book_id, question, created_at) "
                "VALUES ($1, $2, 'why?', now() - $3::interval) RETURNING id", user, book, age)
            for who, user in (("free", free), ("pro", pro), ("lapsed", lapsed))
            for age in (timedelta(days=100), timedelta(days=80))
        }  # fmt: skip
        template = await conn.fetchval(
            "INSERT INTO quote_templates (name, design_config) VALUES ('t', '{}') RETURNING id"
        )
        highlight = await conn.fetchval(
            "INSERT INTO highlights (user_id, book_id, selected_text, page_number) "
            "VALUES ($1, $2, 'a line', 1) RETURNING id", free, book)  # fmt: skip
        shares = {}
        for views, age in ((0, 31), (0, 29), (3, 31)):
            share = await conn.fetchval(
                """INSERT INTO quote_shares (user_id, book_id, highlight_id, template_id,
                       quote_text, referral_code, views_count, created_at)
                   VALUES ($1, $2, $3, $4, 'a quote of note', $5, $6,
                           now() - make_interval(days => $7)) RETURNING id""",
                free, book, highlight, template, f"code{views}{age}", views, age,
            )  # fmt: skip
            await files.put(quote_files_prefix(share) + "card.png", b"png", "image/png")
            shares[(views, age)] = share
        # never seen on its page, but liked in the app, or collected by a third reader:
        # both are kept
        liked, collected = [await conn.fetchval(
            """INSERT INTO quote_shares (user_id, book_id, highlight_id, template_id,
                   quote_text, referral_code, likes_count, created_at)
               VALUES ($1, $2, $3, $4, 'a quote of note', $5, $6, now() - interval '31 days')
               RETURNING id""", free, book, highlight, template, code, likes,
        ) for code, likes in (("liked", 1), ("collected", 0))]  # fmt: skip
        curator = await make_user(conn)
        shelf = await conn.fetchval(
            "INSERT INTO quote_collections (user_id, title) VALUES ($1, 'mine') RETURNING id",
            curator,
        )
        put = "INSERT INTO quote_collection_items (quote_collection_id, quote_share_id, position) "
        await conn.execute(put + "VALUES ($1, $2, 1)", shelf, collected)
        for days in (91, 89):
            await conn.execute(
                "INSERT INTO notifications (user_id, kind, title, created_at) "
                "VALUES ($1, 'reading_reminder', 'read', now() - make_interval(days => $2))",
                free, days,
            )  # fmt: skip
    counts = await clean_old_data(pool)
    assert counts == {"reading_sessions": 1, "ai_conversations": 2, "notifications": 1,
                      "quote_shares": 1}  # fmt: skip
    assert await pool.fetchval("SELECT count(*) FROM notifications WHERE user_id = $1", free) == 1
    kept_sessions = {r["id"] for r in await pool.fetch("SELECT id FROM reading_sessions")}
    assert sessions[timedelta(days=364)] in kept_sessions
    assert sessions[timedelta(days=366)] not in kept_sessions
    kept = {r["id"] for r in await pool.fetch("SELECT id FROM ai_conversations")}
    gone = {("free", timedelta(days=100)), ("lapsed", timedelta(days=100))}
    assert not {conversations[k] for k in gone} & kept
    assert {conversations[k] for k in conversations if k not in gone} <= kept
    left = {r["id"] for r in await pool.fetch("SELECT id FROM quote_shares")}
    assert left == {shares[(0, 29)], shares[(3, 31)], liked, collected}
    assert not (tmp_path / quote_files_prefix(shares[(0, 31)])).exists()
    assert (await files.get(quote_files_prefix(shares[(0, 29)]) + "card.png")) == b"png"
    assert await clean_old_data(pool) == {"reading_sessions": 0, "ai_conversations": 0,
                                          "notifications": 0, "quote_shares": 0}  # fmt: skip


async def test_purging_a_highlight_or_book_keeps_other_readers_shares(pool: asyncpg.Pool) -> None:
    """A share keeps a snapshot of its quote: it outlives the highlight (its tombstone
    purge) and the book, and so does the third party's collection that holds it."""
    from tests.factories import make_book, make_user
    from workers.maintenance import purge_expired

    context.bind(session_settings(), pool, LocalStorage(Path("/nonexistent")), lambda _: None)
    async with pool.acquire() as conn:
        author, sharer, curator = [await make_user(conn) for _ in range(3)]
        book = await make_book(conn, author, public=True)
        highlight = await conn.fetchval(
            "INSERT INTO highlights (user_id, book_id, selected_text, page_number, public, "
            "deleted_at) VALUES ($1, $2, 'a line worth sharing', 1, true, now() - interval "
            "'30 days') RETURNING id", author, book)  # fmt: skip
        template = await conn.fetchval("SELECT id FROM quote_templates LIMIT 1")
        share = await conn.fetchval(
            """INSERT INTO quote_shares (user_id, book_id, highlight_id, template_id,
                   quote_text, referral_code) VALUES ($1, $2, $3, $4, 'a line worth sharing',
                   'outlives') RETURNING id""", sharer, book, highlight, template)  # fmt: skip
        shelf = await conn.fetchval(
            "INSERT INTO quote_collections (user_id, title) VALUES ($1, 'x') RETURNING id",
            curator,
        )
        put = "INSERT INTO quote_collection_items (quote_collection_id, quote_share_id, position) "
        await conn.execute(put + "VALUES ($1, $2, 1)", shelf, share)
    assert (await purge_expired(pool))["highlights"] >= 1
    row = await pool.fetchrow("SELECT highlight_id, quote_text FROM quote_shares WHERE id = $1",
                              share)  # fmt: skip
    assert row is not None and row["highlight_id"] is None
    assert row["quote_text"] == "a line worth sharing"
    await pool.execute("DELETE FROM books WHERE id = $1", book)
    assert await pool.fetchval("SELECT book_id FROM quote_shares WHERE id = $1", share) is None
    held = "SELECT count(*) FROM quote_collection_items WHERE quote_share_id = $1"
    assert await pool.fetchval(held, share) == 1
