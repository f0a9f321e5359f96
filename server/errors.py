"""Domain errors to HTTP responses and WebSocket error frames, in one table."""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from asyncpg.exceptions import _base as asyncpg_base
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from domain.errors import DomainError, RateLimited

log = logging.getLogger(__name__)

# code -> HTTP status. WebSocket error frames carry the code itself; codes outside
# PROTOCOL.md §4.2's list are sent as `bad_request`.
HTTP_STATUS: dict[str, int] = {
    "bad_request": 422,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "rate_limited": 429,
    "quota_exceeded": 429,
    "unsupported_type": 415,
    "too_large": 413,
    "not_ready": 409,
    "upstream_error": 502,
    "unavailable": 503,
    "internal": 500,
}
WS_CODES = {
    "bad_request",
    "unknown_type",
    "unknown_method",
    "forbidden",
    "not_found",
    "conflict",
    "rate_limited",
    "quota_exceeded",
    "internal",
}
_STATUS_CODE = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    413: "too_large",
    415: "unsupported_type",
    429: "rate_limited",
}


_NAMED_FIELD = re.compile(r"field `([^`]+)`")


def ws_code(exc: DomainError) -> str:
    return exc.code if exc.code in WS_CODES else "bad_request"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return body


def domain_error_response(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    headers = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    return Response(
        error_body(exc.code, exc.message, exc.field),
        status_code=HTTP_STATUS.get(exc.code, 500),
        headers=headers,
    )


def validation_error_response(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's decoding errors: 422 naming the first failing field."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    first = extra[0] if extra and isinstance(extra[0], dict) else {}
    message = first.get("message") or exc.detail
    field = first.get("key")
    if field in (None, "data"):
        # a missing or unknown field fails at the object itself: msgspec names it in the text
        named = _NAMED_FIELD.search(message)
        field = named.group(1) if named else None
    if field:
        message = f"{message} (field: {field})"
    return Response(error_body("bad_request", message, field), status_code=422)


def http_error_response(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _STATUS_CODE.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal")
    return Response(
        error_body(code, exc.detail), status_code=exc.status_code, headers=exc.headers or {}
    )


# Values PostgreSQL refuses to store or compare (a NUL character in a string, a number
# out of a column's range; SQLSTATE class 22, or asyncpg refusing an argument): the
# client's input, answered 422 like any other invalid value, never 500.
BAD_VALUES = (asyncpg.exceptions.DataError, asyncpg_base.DataError)


def bad_value_message(exc: Exception) -> str:
    detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"a value in the request cannot be stored ({detail})"


def bad_value_response(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.info("refused a value the database cannot store: %s", exc)
    return Response(error_body("bad_request", bad_value_message(exc)), status_code=422)


def internal_error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(error_body("internal", "internal error"), status_code=500)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error_response,
    ValidationException: validation_error_response,
    HTTPException: http_error_response,
    asyncpg.exceptions.DataError: bad_value_response,
    asyncpg_base.DataError: bad_value_response,
    Exception: internal_error_response,
}
