"""GET/PATCH /users/me, GET /users/{username}."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get, patch

from domain.accounts import operations as accounts
from domain.accounts.models import ProfilePatch, PublicUser, User
from domain.stats import operations as stats
from domain.stats.models import UserStats
from handlers.deps import PooledConn


class UsersController(Controller):
    path = "/users"
    tags = ["users"]

    @get("/me")
    async def me(self, conn: PooledConn, user_id: UUID) -> User:
        return await accounts.get_user(conn, user_id)

    @patch("/me")
    async def update_me(self, data: ProfilePatch, conn: PooledConn, user_id: UUID) -> User:
        return await accounts.update_profile(conn, user_id, data)

    @get("/me/stats")
    async def my_stats(self, conn: PooledConn, user_id: UUID) -> UserStats:
        return await stats.user_stats(conn, user_id)

    @get("/{username:str}")
    async def profile(self, username: str, conn: PooledConn, user_id: UUID) -> PublicUser:
        return await accounts.public_profile(conn, username, user_id)
