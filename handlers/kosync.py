"""KOReader's progress sync (kosync) under `/kosync`: the reference server's routes,
statuses and error bodies (koreader/koreader-sync-server), on BookMind's progress.

KOReader's client is strict: it takes only 200 (never 202), decodes only a response of
`Content-Type: application/json` exactly, and sends its own `Accept` and sometimes no
request `Content-Type`. Errors are `{"code", "message"}` with the reference codes."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, get, post, put

from domain.accounts import devices
from domain.errors import RateLimited, Unauthorized
from domain.kosync import operations as kosync
from server.context import AppContext

JSON = "application/json"
MAX_FIELD_CHARS = 2048


class KosyncError(Exception):
    def __init__(self, status: int, code: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


def unauthorized() -> KosyncError:
    return KosyncError(401, 2001, "Unauthorized")


def invalid(message: str = "Invalid request") -> KosyncError:
    return KosyncError(403, 2003, message)


def _json(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
          ) -> Response[bytes]:  # fmt: skip
    return Response(msgspec.json.encode(body), status_code=status, media_type=JSON,
                    headers=headers or {})  # fmt: skip


def _error(_: Request[Any, Any, Any], exc: KosyncError) -> Response[bytes]:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return _json({"code": exc.code, "message": exc.message}, exc.status, headers)


async def _reader(request: Request[Any, Any, Any], ctx: AppContext) -> UUID:
    user, key = request.headers.get("x-auth-user"), request.headers.get("x-auth-key")
    if not user or not key or len(user) > 320 or len(key) > 64:
        raise unauthorized()
    threshold = ctx.settings.login_failures_before_throttle
    try:
        return await devices.device_sign_in(ctx.pool, user, key, threshold)
    except Unauthorized:
        raise unauthorized() from None
    except RateLimited as exc:
        raise KosyncError(429, 2001, "Too many failed sign-ins; try again later",
                          exc.retry_after_s) from None  # fmt: skip


async def _object(request: Request[Any, Any, Any]) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        body = None
    if not isinstance(body, dict):
        raise KosyncError(400, 2003, "The request body is not a JSON object")
    return body


def _text(value: Any) -> str | None:
    """A non-empty string field (KOReader sends a PDF's page as a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and 0 < len(value) <= MAX_FIELD_CHARS:
        return value
    return None


def _percentage(value: Any) -> float | None:
    """A number, or a string holding one, as the reference server's `tonumber` takes."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def _document(value: Any) -> str:
    if not isinstance(value, str) or not value or ":" in value or len(value) > 256:
        raise KosyncError(403, 2004, "Field 'document' not provided.")
    return value


def progress_of(body: dict[str, Any]) -> kosync.DeviceProgress:
    document = _document(body.get("document"))
    percentage = _percentage(body.get("percentage"))
    progress, device = _text(body.get("progress")), _text(body.get("device"))
    device_id = body.get("device_id")
    if percentage is None or progress is None or device is None:
        raise invalid()
    if device_id is not None and _text(device_id) is None:
        raise invalid()
    return kosync.DeviceProgress(document=document, progress=progress, percentage=percentage,
                                 device=device, device_id=device_id)  # fmt: skip


@get("/healthcheck")
async def healthcheck() -> Response[bytes]:
    return _json({"state": "OK"})


@post("/users/create")
async def create_user() -> Response[bytes]:
    # accounts are made in BookMind, and a device sets no password: the reader sets a sync
    # password there (PUT /api/v1/users/me/sync-password). Creating one from here would
    # let anyone who knows a username claim its sync.
    raise KosyncError(402, 2005, "User registration is disabled: set a sync password in "
                                 "BookMind and sign in with your BookMind username.")  # fmt: skip


@get("/users/auth")
async def auth(request: Request[Any, Any, Any], ctx: AppContext) -> Response[bytes]:
    await _reader(request, ctx)
    return _json({"authorized": "OK"})


@put("/syncs/progress")
async def update_progress(request: Request[Any, Any, Any], ctx: AppContext) -> Response[bytes]:
    user_id = await _reader(request, ctx)
    body = progress_of(await _object(request))
    async with ctx.pool.acquire() as conn:
        timestamp, write = await kosync.put(conn, ctx.files, user_id, body)
    if write is not None:  # with every device's updates, holding no connection meanwhile
        ctx.hub.publish((await ctx.progress_updates.submit(write)).events)
    return _json({"document": body.document, "timestamp": timestamp})


@get("/syncs/progress/{document:str}")
async def get_progress(
    document: str, request: Request[Any, Any, Any], ctx: AppContext
) -> Response[bytes]:
    user_id = await _reader(request, ctx)
    document = _document(document)
    async with ctx.pool.acquire() as conn:
        return _json(await kosync.get(conn, ctx.files, user_id, document))


def kosync_router() -> Router:
    return Router(
        path="/kosync",
        route_handlers=[healthcheck, create_user, auth, update_progress, get_progress],
        exception_handlers={KosyncError: _error},
        include_in_schema=False,
    )
