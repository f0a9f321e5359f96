"""Making notifications (in the transaction of what caused them), listing them and
marking them read."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from domain import events as ev
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.sql import Conn, load_queries


class Notification(msgspec.Struct, kw_only=True):
    id: UUID
    kind: str  # new_follower | ai_suggestion | reading_reminder
    title: str
    body: str | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class MarkRead(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # these ones; absent or null: every unread one
    ids: Annotated[list[UUID], msgspec.Meta(max_length=500)] | None = None


class Unread(msgspec.Struct):
    unread: int


Q = load_queries(__file__, notification_columns=", ".join(Notification.__struct_fields__))

# which notification_preferences key lets each kind through
PREFERENCE = {
    "new_follower": "social_notifications",
    "ai_suggestion": "ai_suggestions",
    "reading_reminder": "reading_reminders",
}


async def notify(
    conn: Conn, user_id: UUID, kind: str, title: str, body: str | None,
    data: dict[str, Any], dedupe_key: str | None = None,
) -> list[Event]:  # fmt: skip
    """The notification, stored, as the event to append with the cause's other events;
    nothing when the reader's preferences turn this kind off or it was made before."""
    row = await conn.fetchrow(Q.notify, user_id, PREFERENCE[kind], kind, title, body, data,
                              dedupe_key)  # fmt: skip
    if row is None:
        return []
    made = msgspec.convert(dict(row), Notification)
    return [Event(user_channel(user_id), ev.NOTIFICATION, made)]


async def listing(
    conn: Conn, user_id: UUID, *, unread_only: bool, cursor: str | None, limit: int
) -> Page[Notification]:
    stamp, last_id = decode_cursor(cursor) or (None, None)
    rows = await conn.fetch(Q.mine, user_id, unread_only, stamp, last_id, limit + 1)
    items = [msgspec.convert(dict(r), Notification) for r in rows]
    return page_of(items, limit, lambda n: (n.created_at, n.id))


async def mark_read(conn: Conn, user_id: UUID, cmd: MarkRead) -> Unread:
    await conn.execute(Q.mark_read, user_id, cmd.ids)
    return Unread(await conn.fetchval(Q.unread_count, user_id))


async def who_wants_suggestions(conn: Conn, user_ids: list[UUID]) -> set[UUID]:
    return {r["id"] for r in await conn.fetch(Q.wants_suggestions, user_ids)}


async def send_reminders(conn: Conn, now: datetime) -> list[StoredEvent]:
    """The readers whose reminder hour it is in their time zone, with a book in progress
    they have not read today: a reminder each, once per their day."""
    async with conn.transaction():
        pending: list[Event] = []
        for due in await conn.fetch(Q.due_reminders, now):
            page = f", page {due['current_page']}" if due["current_page"] else ""
            pending += await notify(
                conn, due["user_id"], "reading_reminder", f"Time to read {due['title']}?",
                f"Pick up where you left off{page}.", {"book_id": str(due["book_id"])},
                dedupe_key=f"reminder:{due['local_day'].isoformat()}",
            )  # fmt: skip
        return await append_events(conn, pending, None) if pending else []
