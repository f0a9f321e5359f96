"""Social over HTTP (PROTOCOL.md §3 follows, feed)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, post
from litestar.status_codes import HTTP_204_NO_CONTENT

from domain.accounts.models import PublicUser
from domain.pagination import DEFAULT_LIMIT, Page, check_limit
from domain.social import follows
from domain.social.feed import FeedEntry
from domain.social.feed import feed as load_feed
from handlers.deps import PooledConn
from handlers.http_reading import Device, published
from server.context import AppContext


class SocialController(Controller):
    tags = ["social"]

    @post("/users/{username:str}/follow")
    async def follow(
        self, username: str, ctx: AppContext, conn: PooledConn, user_id: UUID,
        device: str | None = Device,
    ) -> Response[PublicUser]:  # fmt: skip
        written = await follows.follow(conn, user_id, username, device)
        ctx.feed.following_changed(user_id, written.value.id, True)
        return published(ctx, written, creates=True)

    @delete("/users/{username:str}/follow", status_code=HTTP_204_NO_CONTENT)
    async def unfollow(
        self, username: str, ctx: AppContext, conn: PooledConn, user_id: UUID,
        device: str | None = Device,
    ) -> None:  # fmt: skip
        written = await follows.unfollow(conn, user_id, username, device)
        ctx.feed.following_changed(user_id, written.value.id, False)
        ctx.hub.publish(written.events)

    @get("/users/{username:str}/followers")
    async def followers(
        self, username: str, conn: PooledConn, user_id: UUID,
        cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[PublicUser]:  # fmt: skip
        return await follows.listing(conn, user_id, username, "followers", cursor,
                                     check_limit(limit))  # fmt: skip

    @get("/users/{username:str}/following")
    async def following(
        self, username: str, conn: PooledConn, user_id: UUID,
        cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[PublicUser]:  # fmt: skip
        return await follows.listing(conn, user_id, username, "following", cursor,
                                     check_limit(limit))  # fmt: skip

    @get("/feed")
    async def feed(
        self, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[FeedEntry]:  # fmt: skip
        return await load_feed(conn, user_id, cursor, check_limit(limit))
