"""Dependencies handlers ask for by name: the process context, a pooled connection,
the caller."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Request
from litestar.datastructures import State

from domain.accounts.operations import ClientInfo
from server.auth import AuthUser
from server.context import AppContext

# what a handler's `conn` is; Litestar reads this at run time, where the stubs' generic
# form does not exist
if TYPE_CHECKING:
    PooledConn: TypeAlias = PoolConnectionProxy[asyncpg.Record]
else:
    PooledConn = PoolConnectionProxy


def provide_ctx(state: State) -> AppContext:
    ctx: AppContext = state.ctx
    return ctx


async def provide_conn(state: State) -> AsyncGenerator[PooledConn, None]:
    ctx: AppContext = state.ctx
    async with ctx.pool.acquire() as conn:
        yield conn


def provide_user_id(request: Request[AuthUser, Any, Any]) -> UUID:
    return request.user.id


def provide_client(request: Request[Any, Any, Any]) -> ClientInfo:
    return ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )
