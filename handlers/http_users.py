"""GET/PATCH/DELETE /users/me, POST /users/me/password, GET /users/{username}."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.background_tasks import BackgroundTask, BackgroundTasks
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from domain.accounts import devices, mail
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
from handlers.deps import PooledConn, logged
from server.context import AppContext


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/me")
    async def me(self, conn: PooledConn, user_id: UUID) -> User:
        return await accounts.get_user(conn, user_id)

    @patch("/me")
    async def update_me(self, data: ProfilePatch, ctx: AppContext, user_id: UUID) -> Response[User]:
        """A new email needs `current_password`; the new address gets a confirmation
        link and the old one a notice."""
        change = await accounts.update_profile(
            ctx.pool, user_id, data, ctx.settings.login_failures_before_throttle
        )
        if change.old_email is None:
            return Response(change.user)
        user = change.user
        return Response(user, background=BackgroundTasks([
            BackgroundTask(logged(mail.send_confirmation, ctx.pool, ctx.mailer, user_id,
                                  ctx.settings.public_base_url)),
            BackgroundTask(logged(mail.notify_address_changed, ctx.mailer, change.old_email,
                                  user.email, user.username)),
        ]))  # fmt: skip

    @post("/me/confirmation", status_code=HTTP_202_ACCEPTED)
    async def resend_confirmation(self, ctx: AppContext, user_id: UUID) -> None:
        """Mails the confirmation link again: 409 when the address is confirmed, 429
        after three in an hour."""
        await mail.send_confirmation(ctx.pool, ctx.mailer, user_id, ctx.settings.public_base_url,
                                     asked=True)  # fmt: skip

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
