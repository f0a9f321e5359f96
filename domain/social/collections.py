"""Quote collections: a reader's curated, ordered lists of quote shares with notes.
A share is in a collection at most once (409); `quotes_count` follows the items."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain.errors import Conflict, Forbidden, NotFound
from domain.pagination import Page, decode_cursor, page_of
from domain.social.models import Collection, CollectionCreate, CollectionItem, CollectionItemCreate
from domain.social.sql import Q
from domain.sql import Conn


def _collection(row: Any, items: list[Any] | None = None) -> Collection:
    return msgspec.convert({**dict(row), "items": items or []}, Collection)


async def create(conn: Conn, user_id: UUID, cmd: CollectionCreate) -> Collection:
    row = await conn.fetchrow(Q.insert_collection, user_id, cmd.title, cmd.description,
                              cmd.theme, cmd.public)  # fmt: skip
    return _collection(row)


async def mine(conn: Conn, user_id: UUID, cursor: str | None, limit: int) -> Page[Collection]:
    """The reader's own collections, newest first, without their items."""
    after = decode_cursor(cursor)
    rows = await conn.fetch(Q.my_collections, user_id, after[0] if after else None,
                            after[1] if after else None, limit + 1)  # fmt: skip
    return page_of([_collection(r) for r in rows], limit, lambda c: (c.created_at, c.id))


async def view(conn: Conn, user_id: UUID, collection_id: UUID) -> Collection:
    row = await conn.fetchrow(Q.collection, collection_id)
    if row is None or (row["user_id"] != user_id and not row["public"]):
        raise NotFound("no such collection")
    items = [dict(r) for r in await conn.fetch(Q.collection_items, collection_id)]
    return _collection(row, items)


async def _owned_for_update(conn: Conn, user_id: UUID, collection_id: UUID) -> None:
    row = await conn.fetchrow(Q.collection_for_update, collection_id)
    if row is None or (row["user_id"] != user_id and not row["public"]):
        raise NotFound("no such collection")
    if row["user_id"] != user_id:
        raise Forbidden("only its curator changes a collection")


async def add(
    conn: Conn, user_id: UUID, collection_id: UUID, cmd: CollectionItemCreate
) -> CollectionItem:
    async with conn.transaction():
        await _owned_for_update(conn, user_id, collection_id)  # the row lock orders adds
        quote = await conn.fetchval(Q.share_json, cmd.quote_share_id)
        if quote is None:
            raise NotFound("no such quote", field="quote_share_id")
        if cmd.position is not None:
            await conn.execute(Q.make_room, collection_id, cmd.position)
        try:
            async with conn.transaction():
                row = await conn.fetchrow(Q.insert_item, collection_id, cmd.quote_share_id,
                                          cmd.position, cmd.curator_note)  # fmt: skip
        except asyncpg.UniqueViolationError:
            raise Conflict("this quote is already in the collection",
                           field="quote_share_id") from None  # fmt: skip
        await conn.execute(Q.count_items, collection_id, 1)
    assert row is not None
    return msgspec.convert({**dict(row), "quote": quote}, CollectionItem)


async def remove(conn: Conn, user_id: UUID, collection_id: UUID, share_id: UUID) -> None:
    async with conn.transaction():
        await _owned_for_update(conn, user_id, collection_id)
        position = await conn.fetchval(Q.delete_item, collection_id, share_id)
        if position is None:
            raise NotFound("that quote is not in the collection")
        await conn.execute(Q.close_gap, collection_id, position)
        await conn.execute(Q.count_items, collection_id, -1)
