"""Who a live feed item is published for (server/hub/feed.py asks `feed_author` after
each public highlight): nobody when the book is private or nobody follows the author,
so such a write publishes nothing; the author's public profile otherwise."""

from __future__ import annotations

import asyncpg

from domain.social.follows import feed_author, follow, unfollow
from tests.factories import make_book, make_user


async def test_an_author_is_heard_only_while_followed_and_only_on_a_public_book(
    conn: asyncpg.Connection,
) -> None:
    author = await make_user(conn, "ishmael")
    reader = await make_user(conn)
    public = await make_book(conn, author, public=True)
    private = await make_book(conn, author, public=False)

    assert await feed_author(conn, author, public) is None  # no followers yet

    await follow(conn, reader, "ishmael", None)
    heard = await feed_author(conn, author, public)
    assert heard is not None and heard.id == author and heard.username == "ishmael"
    assert await feed_author(conn, author, private) is None

    await conn.execute("UPDATE books SET deleted_at = now() WHERE id = $1", public)
    assert await feed_author(conn, author, public) is None  # a removed book

    restored = await make_book(conn, author, public=True)
    await unfollow(conn, reader, "ishmael", None)
    assert await feed_author(conn, author, restored) is None  # followed by nobody again
