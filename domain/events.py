"""The event catalogue and the durable event log (PROTOCOL.md §4.3, ARCHITECTURE.md §2).

A write appends its events with `append_events` inside its own transaction; each gets the
next gapless `seq` of its channel. After commit the caller hands the returned
`StoredEvent`s to the hub, which publishes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.sql import Conn

# durable events (stored, with seq)
PROGRESS_UPDATED = "progress.updated"
SESSION_STARTED = "session.started"
SESSION_ENDED = "session.ended"
HIGHLIGHT_CREATED = "highlight.created"
HIGHLIGHT_UPDATED = "highlight.updated"
HIGHLIGHT_DELETED = "highlight.deleted"
BOOKMARK_CREATED = "bookmark.created"
BOOKMARK_UPDATED = "bookmark.updated"
BOOKMARK_DELETED = "bookmark.deleted"
ANNOTATION_CREATED = "annotation.created"
ANNOTATION_UPDATED = "annotation.updated"
ANNOTATION_DELETED = "annotation.deleted"
BOOK_PROCESSING = "book.processing"
BOOK_READY = "book.ready"
BOOK_FAILED = "book.failed"
BOOK_DELETED = "book.deleted"
BOOK_STATS = "book.stats"
IMPORT_PROGRESS = "import.progress"
IMPORT_FINISHED = "import.finished"
AI_CONVERSATION = "ai.conversation"
QUOTA_UPDATED = "quota.updated"
FOLLOW_CREATED = "follow.created"
FOLLOW_DELETED = "follow.deleted"
QUOTE_SHARED = "quote.shared"
NOTIFICATION = "notification"
# ephemeral signals (published, never stored)
PRESENCE_JOIN = "presence.join"
PRESENCE_LEAVE = "presence.leave"
FEED_ITEM = "feed.item"
TRENDING_UPDATED = "trending.updated"
AI_STREAMING = "ai.streaming"
# what a withdrawn event becomes in the log: it keeps its seq (replay stays gapless) and
# says nothing of what it carried
REDACTED = "redacted"

_encode = msgspec.json.Encoder()


def user_channel(user_id: UUID) -> str:
    return f"user:{user_id}"


def book_channel(book_id: UUID) -> str:
    return f"book:{book_id}"


class Event(msgspec.Struct, frozen=True):
    """An event to append: where, what, and the object it carries."""

    channel: str
    event: str
    data: Any


class StoredEvent(msgspec.Struct, frozen=True):
    """An event as committed: its place in the channel and its data as JSON text."""

    channel: str
    seq: int
    event: str
    data: msgspec.Raw
    ts: datetime
    origin: str | None


class Batch(msgspec.Struct, frozen=True):
    """Events with their data encoded once, for a statement that appends them itself."""

    events: list[Event]
    datas: list[bytes]

    @classmethod
    def of(cls, events: list[Event]) -> Batch:
        return cls(events, [_encode.encode(e.data) for e in events])


class _Appended(msgspec.Struct):
    """One event as `store_events` reads it."""

    channel: str
    event: str
    data: msgspec.Raw
    origin: str | None


async def append_group_events(
    conn: Conn, events: Sequence[tuple[Event, str | None]]
) -> list[StoredEvent]:
    """Append the events of a group of writes (each with its own origin) in the caller's
    transaction, in one round trip; return them with their seq, in order."""
    if not events:
        return []
    appended = [
        _Appended(e.channel, e.event, msgspec.Raw(_encode.encode(e.data)), origin)
        for e, origin in events
    ]
    rows = await conn.fetch("SELECT i, seq, created_at FROM store_events($1)", appended)
    return [
        StoredEvent(a.channel, r["seq"], a.event, a.data, r["created_at"], a.origin)
        for a, r in zip(appended, rows, strict=True)
    ]


async def append_events(conn: Conn, events: list[Event], origin: str | None) -> list[StoredEvent]:
    """Append `events` in the caller's transaction; return them with their seq, in order."""
    return await append_group_events(conn, [(e, origin) for e in events])


async def redact(conn: Conn, channel: str, item_id: UUID, events: list[str]) -> int:
    """In the caller's transaction: empty the `events` of `channel` that carried the item
    `item_id`, so a later replay no longer shows it (its note, its text). Returns how
    many were redacted."""
    done = await conn.execute(
        """UPDATE channel_events SET event = $4, data = '{}'::jsonb
           WHERE channel = $1 AND data->>'id' = $2 AND event = ANY($3::text[])""",
        channel,
        str(item_id),
        events,
        REDACTED,
    )
    return int(done.split()[-1])


async def events_since(conn: Conn, channel: str, after: int, limit: int) -> list[StoredEvent]:
    """Up to `limit` events of `channel` with seq > `after`, in order."""
    rows = await conn.fetch(
        """SELECT seq, event, data::text AS data, created_at, origin FROM channel_events
           WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $3""",
        channel,
        after,
        limit,
    )
    return [
        StoredEvent(channel, r["seq"], r["event"], msgspec.Raw(r["data"].encode()),
                    r["created_at"], r["origin"])
        for r in rows
    ]  # fmt: skip


async def oldest_kept(conn: Conn, channel: str) -> int | None:
    """The lowest seq still stored for `channel` (None when none is)."""
    value: int | None = await conn.fetchval(
        "SELECT min(seq) FROM channel_events WHERE channel = $1", channel
    )
    return value


async def heads(conn: Conn, channels: list[str]) -> dict[str, int]:
    """The head seq of each channel (0 for a channel with no event yet)."""
    rows = await conn.fetch(
        "SELECT channel, seq FROM channel_heads WHERE channel = ANY($1::text[])", channels
    )
    found = {r["channel"]: r["seq"] for r in rows}
    return {c: found.get(c, 0) for c in channels}


async def purge_before(conn: Conn, cutoff: datetime, batch: int = 10_000) -> int:
    """Delete events older than `cutoff`, in batches that keep locks short."""
    total = 0
    while True:
        deleted: int = await conn.fetchval(
            """WITH doomed AS (SELECT channel, seq FROM channel_events
                               WHERE created_at < $1 LIMIT $2)
               , gone AS (DELETE FROM channel_events e USING doomed d
                          WHERE e.channel = d.channel AND e.seq = d.seq RETURNING 1)
               SELECT count(*) FROM gone""",
            cutoff,
            batch,
        )
        total += deleted
        if deleted < batch:
            return total
