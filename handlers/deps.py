"""Dependencies handlers ask for by name: the process context, a pooled connection,
the caller."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from litestar import Request
from litestar.datastructures import State

from domain.accounts.operations import ClientInfo
from server.auth import AuthUser
from server.context import AppContext

P = ParamSpec("P")
log = logging.getLogger(__name__)

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


def provide_user_id(request: Request[AuthUser, Any, Any], state: State) -> UUID:
    user_id = request.user.id
    ctx: AppContext = state.ctx
    ctx.activity.seen(user_id)  # every authenticated request is activity
    return user_id


def provide_client(request: Request[Any, Any, Any]) -> ClientInfo:
    return ClientInfo(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def logged(
    fn: Callable[P, Awaitable[Any]], *args: P.args, **kwargs: P.kwargs
) -> Callable[[], Awaitable[None]]:
    """`fn(*args)` for after the response (mail): its failure is logged, not raised into
    a response already sent."""

    async def run() -> None:
        try:
            await fn(*args, **kwargs)
        except Exception:
            log.exception("%s failed after the response", getattr(fn, "__name__", fn))

    return run
