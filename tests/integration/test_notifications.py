"""Preferences that act: notifications for new followers, AI suggestions and reading
reminders, each let through by the reader's preferences, once; answers shaped by
ai_preferences.response_length (real PostgreSQL, each test rolled back)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from domain.accounts.rules import check_preferences
from domain.ai import prompt as prompts
from domain.errors import Invalid
from domain.notifications import operations as notifications
from domain.notifications.operations import MarkRead
from domain.reading import highlights
from domain.social import follows
from tests.factories import make_book, make_user


async def _prefs(conn: asyncpg.Connection, user: UUID, column: str, **values: object) -> None:
    await conn.execute(f"UPDATE users SET {column} = {column} || $2 WHERE id = $1", user, values)


async def _kinds(conn: asyncpg.Connection, user: UUID) -> list[str]:
    page = await notifications.listing(conn, user, unread_only=False, cursor=None, limit=50)
    return [n.kind for n in page.items]


async def test_a_new_follower_is_told_once_unless_turned_off(conn: asyncpg.Connection) -> None:
    star, fan, quiet = await make_user(conn), await make_user(conn), await make_user(conn)
    fan_name = await conn.fetchval("SELECT username FROM users WHERE id = $1", fan)
    star_name = await conn.fetchval("SELECT username FROM users WHERE id = $1", star)
    quiet_name = await conn.fetchval("SELECT username FROM users WHERE id = $1", quiet)
    made = await follows.follow(conn, fan, star_name, None)
    told = [e for e in made.events if e.event == "notification"]
    assert [e.channel for e in told] == [f"user:{star}"]
    assert json.loads(bytes(told[0].data))["title"] == f"@{fan_name} follows you"
    await follows.unfollow(conn, fan, star_name, None)
    again = await follows.follow(conn, fan, star_name, None)  # back again: not told twice
    assert [e.event for e in again.events] == ["follow.created"]
    assert await _kinds(conn, star) == ["new_follower"]

    await _prefs(conn, quiet, "notification_preferences", social_notifications=False)
    await follows.follow(conn, fan, quiet_name, None)
    assert await _kinds(conn, quiet) == []


async def test_a_central_highlight_brings_a_suggestion_when_the_reader_wants_them(
    conn: asyncpg.Connection,
) -> None:
    keen, reluctant = await make_user(conn), await make_user(conn)
    await _prefs(conn, reluctant, "ai_preferences", auto_suggestions=False)
    book = await make_book(conn, keen, public=True)
    ids = {}
    for name, user in (("keen", keen), ("reluctant", reluctant), ("minor", keen)):
        ids[name] = await conn.fetchval(
            """INSERT INTO highlights (user_id, book_id, selected_text, page_number)
               VALUES ($1, $2, 'the heart of the matter', 1) RETURNING id""", user, book,
        )  # fmt: skip
    analysis = {"concepts": [], "themes": [], "method": "offline"}
    stored = await highlights.store_analyses(conn, [
        (ids["keen"], 0.8, analysis), (ids["reluctant"], 0.9, analysis),
        (ids["minor"], 0.2, analysis),
    ])  # fmt: skip
    assert sorted(e.event for e in stored) == [
        "highlight.updated", "highlight.updated", "highlight.updated", "notification"
    ]  # fmt: skip
    (suggestion,) = (await notifications.listing(
        conn, keen, unread_only=True, cursor=None, limit=10)).items  # fmt: skip
    assert suggestion.kind == "ai_suggestion"
    assert suggestion.data == {"highlight_id": str(ids["keen"]), "book_id": str(book),
                               "feature": "explain"}  # fmt: skip
    assert await _kinds(conn, reluctant) == []
    # read: gone from the unread list, kept in the list
    assert (await notifications.mark_read(conn, keen, MarkRead())).unread == 0
    assert await _kinds(conn, keen) == ["ai_suggestion"]
    unread = await notifications.listing(conn, keen, unread_only=True, cursor=None, limit=10)
    assert unread.items == []


async def test_reminders_come_at_the_readers_hour_in_their_zone_once_a_day(
    conn: asyncpg.Connection,
) -> None:
    tokyo, paris, done_today, off = [await make_user(conn) for _ in range(4)]
    for user, zone in ((tokyo, "Asia/Tokyo"), (paris, "Europe/Paris"),
                       (done_today, "Asia/Tokyo"), (off, "Asia/Tokyo")):  # fmt: skip
        await conn.execute("UPDATE users SET time_zone = $2 WHERE id = $1", user, zone)
    await _prefs(conn, off, "notification_preferences", reading_reminders=False)
    now = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)  # 19:00 in Tokyo, 11:00 in Paris
    for user in (tokyo, paris, done_today, off):
        book = await make_book(conn, user, title="Emma")
        read_at = now - (timedelta(hours=2) if user == done_today else timedelta(days=2))
        await conn.execute(
            """INSERT INTO reading_progress (user_id, book_id, current_page, last_read_at)
               VALUES ($1, $2, 42, $3)""", user, book, read_at,
        )  # fmt: skip
    stored = await notifications.send_reminders(conn, now)
    assert [e.channel for e in stored] == [f"user:{tokyo}"]
    (reminder,) = (await notifications.listing(
        conn, tokyo, unread_only=False, cursor=None, limit=5)).items  # fmt: skip
    assert (reminder.title, reminder.body) == ("Time to read Emma?",
                                              "Pick up where you left off, page 42.")  # fmt: skip
    assert await notifications.send_reminders(conn, now) == []  # once a day
    await _prefs(conn, paris, "notification_preferences", reminder_hour=11)
    assert [e.channel for e in await notifications.send_reminders(conn, now)] == [f"user:{paris}"]


def test_the_preferences_the_server_acts_on_are_checked() -> None:
    check_preferences("ai_preferences", {"response_length": "brief", "theme_of_my_own": 1})
    for name, bad in (("ai_preferences", {"response_length": "short"}),
                      ("ai_preferences", {"auto_suggestions": "yes"}),
                      ("notification_preferences", {"reminder_hour": 24}),
                      ("notification_preferences", {"reading_reminders": 1})):  # fmt: skip
        with pytest.raises(Invalid) as refused:
            check_preferences(name, bad)
        assert refused.value.field == f"{name}.{next(iter(bad))}"


def test_brief_answers_are_asked_for_and_bounded() -> None:
    common: dict[str, Any] = {
        "book_title": "Emma", "author": None, "feature": "chat", "question": "why?",
        "passages": [], "attached_text": None, "chapter": None, "history": [],
        "spoiler_safe": False,
    }  # fmt: skip
    brief = prompts.build(**common, length="brief")
    detailed = prompts.build(**common)
    assert brief.max_tokens == 300 and "two or three sentences" in brief.system
    assert detailed.max_tokens == prompts.MAX_TOKENS and "few short paragraphs" in detailed.system
    odd = prompts.build(**common, length="huge")
    assert odd.length == "detailed"
