"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout (PROTOCOL.md §2), and
the links mail carries: password reset and email confirmation."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, post
from litestar.background_tasks import BackgroundTask
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_202_ACCEPTED,
    HTTP_204_NO_CONTENT,
)

from domain.accounts import mail
from domain.accounts import operations as accounts
from domain.accounts.models import (
    EmailConfirmation,
    LoginCommand,
    PasswordReset,
    PasswordResetRequest,
    RefreshCommand,
    RegisterCommand,
    Revoked,
    Session,
    User,
)
from domain.errors import TokenReused
from handlers.deps import PooledConn, logged
from server.context import AppContext


class AuthResponse(msgspec.Struct):
    user: User
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret


def _respond(ctx: AppContext, session: Session) -> AuthResponse:
    return AuthResponse(
        user=session.user,
        access_token=ctx.tokens.issue(session.user.id, session.family_id),
        refresh_token=session.refresh_token,
        expires_in=ctx.settings.access_token_ttl_s,
    )


class AuthController(Controller):
    path = "/auth"
    tags = ["auth"]

    @post("/register", status_code=HTTP_201_CREATED)
    async def register(
        self,
        data: RegisterCommand,
        ctx: AppContext,
        client: accounts.ClientInfo,
    ) -> Response[AuthResponse]:
        """Signs the reader in and mails a link that confirms their address."""
        # the pool, not a connection: none is held while the password is hashed
        session = await accounts.register(ctx.pool, data, client, ctx.settings.refresh_token_ttl_s)
        confirm = logged(mail.send_confirmation, ctx.pool, ctx.mailer, session.user.id,
                         ctx.settings.public_base_url)  # fmt: skip
        return Response(_respond(ctx, session), background=BackgroundTask(confirm))

    @post("/login", status_code=HTTP_200_OK)
    async def login(
        self,
        data: LoginCommand,
        ctx: AppContext,
        client: accounts.ClientInfo,
    ) -> AuthResponse:
        session = await accounts.login(
            ctx.pool,
            data,
            client,
            refresh_ttl_s=ctx.settings.refresh_token_ttl_s,
            failure_threshold=ctx.settings.login_failures_before_throttle,
        )
        return _respond(ctx, session)

    @post("/refresh", status_code=HTTP_200_OK)
    async def refresh(
        self,
        data: RefreshCommand,
        ctx: AppContext,
        conn: PooledConn,
        client: accounts.ClientInfo,
    ) -> AuthResponse:
        try:
            session = await accounts.refresh(
                conn, data.refresh_token, client, ctx.settings.refresh_token_ttl_s
            )
        except TokenReused as exc:  # the chain is burned: so are its open sockets
            ctx.hub.revoke(Revoked(exc.user_id, exc.family_id))
            raise
        return _respond(ctx, session)

    @post("/logout", status_code=HTTP_204_NO_CONTENT)
    async def logout(self, data: RefreshCommand, ctx: AppContext, conn: PooledConn) -> None:
        revoked = await accounts.logout(conn, data.refresh_token)
        if revoked is not None:
            ctx.hub.revoke(revoked)

    @post("/password-reset", status_code=HTTP_202_ACCEPTED)
    async def request_password_reset(
        self, data: PasswordResetRequest, ctx: AppContext
    ) -> Response[None]:
        """Mails a single-use link valid for an hour to the account with this address.
        The answer is the same, and as quick, whether or not one exists: the lookup and
        the mail happen after it is sent."""
        send = logged(mail.request_password_reset, ctx.pool, ctx.mailer, data.email,
                      ctx.settings.public_base_url)  # fmt: skip
        return Response(None, status_code=HTTP_202_ACCEPTED, background=BackgroundTask(send))

    @post("/password-reset/confirm", status_code=HTTP_204_NO_CONTENT)
    async def reset_password(self, data: PasswordReset, ctx: AppContext) -> None:
        """A used, expired or unknown token is 422 naming `token`. Every session of the
        account ends, its sockets close with 4401."""
        ctx.hub.revoke(await mail.reset_password(ctx.pool, data.token, data.password))

    @post("/confirm-email", status_code=HTTP_204_NO_CONTENT)
    async def confirm_email(self, data: EmailConfirmation, conn: PooledConn) -> None:
        """Needs no sign-in: the link may be opened on any device."""
        await mail.confirm_email(conn, data.token)
