"""Quote collections: a reader's curated, ordered lists of quote shares with notes.
A share is in a collection at most once (409); `quotes_count` follows the items."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain.errors import Conflict, Forbidden, NotFound
from domain.pagination import Page, decode_cursor, page_of
from domain.patches import patch_fields
from domain.social.models import (
    Collection,
    CollectionCreate,
    CollectionItem,
    CollectionItemCreate,
    CollectionItemPatch,
    CollectionPatch,
)
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
    if await _visible_for_update(conn, user_id, collection_id) != user_id:
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


async def update(
    conn: Conn, user_id: UUID, collection_id: UUID, patch: CollectionPatch
) -> Collection:
    """Rename, describe, theme, publish or cover a collection (its curator only)."""
    given, value = patch_fields(patch)
    async with conn.transaction():
        await _owned_for_update(conn, user_id, collection_id)
        cover = None
        if value("cover_quote_share_id") is not None:
            cover = await conn.fetchval(Q.item_card, collection_id, value("cover_quote_share_id"))
            if cover is None:
                raise NotFound("that quote is not in the collection",
                               field="cover_quote_share_id")  # fmt: skip
        await conn.execute(
            Q.update_collection, collection_id, value("title"), given("description"),
            value("description"), given("theme"), value("theme"), value("public"),
            given("cover_quote_share_id"), cover,
        )  # fmt: skip
    return await view(conn, user_id, collection_id)


async def delete(conn: Conn, user_id: UUID, collection_id: UUID) -> None:
    """The collection and its items go; the quotes in it stay theirs."""
    async with conn.transaction():
        await _owned_for_update(conn, user_id, collection_id)
        await conn.execute(Q.delete_collection, collection_id)


async def change_item(
    conn: Conn, user_id: UUID, collection_id: UUID, share_id: UUID, patch: CollectionItemPatch
) -> CollectionItem:
    """Move an item (the others between shift by one) or change its note."""
    given, value = patch_fields(patch)
    async with conn.transaction():
        await _owned_for_update(conn, user_id, collection_id)  # the row lock orders moves
        at = await conn.fetchval(Q.item_for_update, collection_id, share_id)
        if at is None:
            raise NotFound("that quote is not in the collection")
        if given("position"):
            last = await conn.fetchval(Q.items_count, collection_id)
            await conn.execute(Q.move_item, collection_id, share_id, at,
                               min(value("position"), last))  # fmt: skip
        row = await conn.fetchrow(Q.update_item, collection_id, share_id,
                                  given("curator_note"), value("curator_note"))  # fmt: skip
        quote = await conn.fetchval(Q.share_json, share_id)
    assert row is not None  # locked above
    return msgspec.convert({**dict(row), "quote": quote}, CollectionItem)


async def public(conn: Conn, theme: str | None, cursor: str | None, limit: int) -> Page[Collection]:
    """Every reader's public collections, newest first, by theme (any case) if given."""
    stamp, last_id = decode_cursor(cursor) or (None, None)
    rows = await conn.fetch(Q.public_collections, theme, stamp, last_id, limit + 1)
    return page_of([_collection(r) for r in rows], limit, lambda c: (c.created_at, c.id))


async def followed(conn: Conn, user_id: UUID, cursor: str | None, limit: int) -> Page[Collection]:
    """The collections the reader follows (while they stay visible to them)."""
    stamp, last_id = decode_cursor(cursor) or (None, None)
    rows = await conn.fetch(Q.followed_collections, user_id, stamp, last_id, limit + 1)
    return page_of([_collection(r) for r in rows], limit, lambda c: (c.created_at, c.id))


async def follow(conn: Conn, user_id: UUID, collection_id: UUID) -> Collection:
    """Follow a collection the reader may see (again: nothing changes)."""
    async with conn.transaction():
        await _visible_for_update(conn, user_id, collection_id)
        row = await conn.fetchrow(Q.follow_collection, collection_id, user_id)
    return _collection(row)


async def unfollow(conn: Conn, user_id: UUID, collection_id: UUID) -> None:
    async with conn.transaction():
        await _visible_for_update(conn, user_id, collection_id)
        await conn.execute(Q.unfollow_collection, collection_id, user_id)


async def _visible_for_update(conn: Conn, user_id: UUID, collection_id: UUID) -> UUID | None:
    """The collection's curator, the row locked; 404 unless it is theirs or public."""
    row = await conn.fetchrow(Q.collection_for_update, collection_id)
    if row is None or (row["user_id"] != user_id and not row["public"]):
        raise NotFound("no such collection")
    curator: UUID | None = row["user_id"]
    return curator
