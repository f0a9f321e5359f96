"""POST /auth/register, /auth/login, /auth/refresh, /auth/logout (PROTOCOL.md §2)."""

from __future__ import annotations

import msgspec
from litestar import Controller, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from domain.accounts import operations as accounts
from domain.accounts.models import (
    LoginCommand,
    RefreshCommand,
    RegisterCommand,
    Revoked,
    Session,
    User,
)
from domain.errors import TokenReused
from handlers.deps import PooledConn
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
    ) -> AuthResponse:
        # the pool, not a connection: none is held while the password is hashed
        session = await accounts.register(ctx.pool, data, client, ctx.settings.refresh_token_ttl_s)
        return _respond(ctx, session)

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
