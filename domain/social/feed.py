"""The feed (`GET /feed`): public highlights and quote shares of the people the reader
follows, newest first, in cursor pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.accounts.models import PublicUser
from domain.pagination import Page, decode_cursor, encode_cursor
from domain.social.sql import Q
from domain.sql import Conn


class FeedEntry(msgspec.Struct, kw_only=True):
    kind: str  # highlight | quote_share
    item: dict[str, Any]
    author: PublicUser
    created_at: datetime


async def feed(conn: Conn, user_id: UUID, cursor: str | None, limit: int) -> Page[FeedEntry]:
    after = decode_cursor(cursor)
    rows = await conn.fetch(
        Q.feed, user_id, after[0] if after else None, after[1] if after else None, limit + 1
    )
    entries = [_entry(r) for r in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    more = encode_cursor(last["created_at"], last["id"]) if last else None
    return Page(items=entries, next_cursor=more)


def _entry(row: Any) -> FeedEntry:
    author = msgspec.convert(row["author"], PublicUser)
    return FeedEntry(
        kind=row["kind"], item=row["item"], author=author, created_at=row["created_at"]
    )
