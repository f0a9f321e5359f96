"""GET/PATCH/DELETE /users/me, POST /users/me/password, GET /users/{username}."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, delete, get, patch, post, put
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from domain.accounts import devices
from domain.accounts import operations as accounts
from domain.accounts.models import (
    AccountRemoval,
    PasswordChange,
    ProfilePatch,
    PublicUser,
    SyncPasswordSet,
    User,
)
from domain.ai import quota
from domain.stats import operations as stats
from domain.stats.models import ReadingDays, UserStats
from handlers.deps import PooledConn
from server.context import AppContext


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/me")
    async def me(self, conn: PooledConn, user_id: UUID) -> User:
        return await accounts.get_user(conn, user_id)

    @patch("/me")
    async def update_me(self, data: ProfilePatch, conn: PooledConn, user_id: UUID) -> User:
        return await accounts.update_profile(conn, user_id, data)

    @post("/me/password", status_code=HTTP_204_NO_CONTENT)
    async def change_password(self, data: PasswordChange, ctx: AppContext, user_id: UUID) -> None:
        # the pool, not a connection: none is held while the passwords are hashed
        revoked = await accounts.change_password(
            ctx.pool, user_id, data, ctx.settings.login_failures_before_throttle
        )
        ctx.hub.revoke(revoked)  # every socket of the account closes with 4401

    @put("/me/sync-password", status_code=HTTP_204_NO_CONTENT)
    async def set_sync_password(
        self, data: SyncPasswordSet, ctx: AppContext, user_id: UUID
    ) -> None:
        """The password KOReader (kosync) and OPDS apps sign in with, with the reader's
        username or email: a device keeps it, so it is not the account's."""
        await devices.set_sync_password(ctx.pool, user_id, data.password)

    @delete("/me", status_code=HTTP_202_ACCEPTED)
    async def remove_me(self, data: AccountRemoval, ctx: AppContext, user_id: UUID) -> None:
        """Removal with a grace period: signing in within 30 days restores the account."""
        revoked = await accounts.remove_account(
            ctx.pool, user_id, data.password, ctx.settings.login_failures_before_throttle
        )
        ctx.hub.revoke(revoked)

    @get("/me/stats")
    async def my_stats(self, conn: PooledConn, user_id: UUID) -> UserStats:
        return await stats.user_stats(conn, user_id)

    @get("/me/stats/daily")
    async def my_reading_days(self, conn: PooledConn, user_id: UUID, days: int = 30) -> ReadingDays:
        return await stats.reading_by_day(conn, user_id, days)

    @get("/me/quota")
    async def my_quota(self, conn: PooledConn, user_id: UUID) -> quota.Quota:
        return await quota.today(conn, user_id)

    @get("/{username:str}")
    async def profile(self, username: str, conn: PooledConn, user_id: UUID) -> PublicUser:
        return await accounts.public_profile(conn, username, user_id)
