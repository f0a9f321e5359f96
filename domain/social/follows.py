"""Follows: idempotent follow and unfollow (no self-follow), the two counters kept exact
in the same transaction, `follow.created` / `follow.deleted` to the one followed, and
the lists."""

from __future__ import annotations

from uuid import UUID

import msgspec

from domain import events as ev
from domain.accounts.models import PublicUser, public_user_from_row
from domain.errors import Invalid, NotFound
from domain.events import Event, append_events, user_channel
from domain.notifications import operations as notifications
from domain.pagination import Page, decode_cursor, encode_cursor
from domain.social.sql import Q
from domain.sql import Conn
from domain.writes import Written


class FollowData(msgspec.Struct):
    """`follow.created` / `follow.deleted` data."""

    follower: PublicUser


async def _target(conn: Conn, viewer: UUID, username: str) -> UUID:
    row = await conn.fetchrow(Q.target_user, username)
    if row is None or (not row["public_profile"] and row["id"] != viewer):
        raise NotFound("no such user")
    if row["id"] == viewer:
        raise Invalid("you cannot follow yourself", field="username")
    target: UUID = row["id"]
    return target


async def follow(
    conn: Conn, follower: UUID, username: str, origin: str | None
) -> Written[PublicUser]:
    """The one now followed; `created` is False when already following (a retry)."""
    async with conn.transaction():
        target = await _target(conn, follower, username)
        made = await conn.fetchval(Q.insert_follow, follower, target)
        events: list[ev.StoredEvent] = []
        if made is not None:
            await conn.execute(Q.count_follow, follower, target, 1)
            me = public_user_from_row(await conn.fetchrow(Q.public_user, follower))
            told = await notifications.notify(
                conn, target, "new_follower", f"@{me.username} follows you", None,
                {"user_id": str(me.id), "username": me.username},
                dedupe_key=f"follow:{follower}",  # once, however often they come back
            )  # fmt: skip
            events = await append_events(
                conn, [Event(user_channel(target), ev.FOLLOW_CREATED, FollowData(me)), *told],
                origin,
            )  # fmt: skip
        them = public_user_from_row(await conn.fetchrow(Q.public_user, target))
    return Written(them, events, created=made is not None)


async def unfollow(
    conn: Conn, follower: UUID, username: str, origin: str | None
) -> Written[PublicUser]:
    """The one no longer followed (unfollowing someone not followed changes nothing)."""
    async with conn.transaction():
        target = await _target(conn, follower, username)
        gone = await conn.fetchval(Q.delete_follow, follower, target)
        events: list[ev.StoredEvent] = []
        if gone is not None:
            await conn.execute(Q.count_follow, follower, target, -1)
            me = public_user_from_row(await conn.fetchrow(Q.public_user, follower))
            events = await append_events(
                conn, [Event(user_channel(target), ev.FOLLOW_DELETED, FollowData(me))], origin
            )
        them = public_user_from_row(await conn.fetchrow(Q.public_user, target))
    return Written(them, events, created=gone is not None)


async def listing(
    conn: Conn, viewer: UUID, username: str, which: str, cursor: str | None, limit: int
) -> Page[PublicUser]:
    """`followers` or `following` of a profile the viewer may see, newest first."""
    row = await conn.fetchrow(Q.target_user, username)
    if row is None or (not row["public_profile"] and row["id"] != viewer):
        raise NotFound("no such user")
    after = decode_cursor(cursor)
    query = Q.followers if which == "followers" else Q.following
    rows = await conn.fetch(query, row["id"], after[0] if after else None,
                            after[1] if after else None, limit + 1, viewer)  # fmt: skip
    users = [public_user_from_row({k: r[k] for k in PublicUser.__struct_fields__})
             for r in rows[:limit]]  # fmt: skip
    last = rows[limit - 1] if len(rows) > limit else None
    more = encode_cursor(last["followed_at"], last["follow_id"]) if last else None
    return Page(items=users, next_cursor=more)


async def followee_ids(conn: Conn, user_id: UUID) -> list[UUID]:
    return [r["followee_id"] for r in await conn.fetch(Q.followee_ids, user_id)]


async def feed_author(conn: Conn, user_id: UUID, book_id: UUID) -> PublicUser | None:
    """The author of a live feed item, or None when nobody may hear it (a private book,
    an author without followers): then nothing is published at all."""
    row = await conn.fetchrow(Q.feed_author, user_id, book_id)
    return public_user_from_row(row) if row is not None else None


async def is_following(conn: Conn, follower: UUID, author: UUID) -> bool:
    return bool(await conn.fetchval(Q.is_following, follower, author))
