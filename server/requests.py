"""Around every HTTP request: its id, log line and latency (ASGI middleware); canonical
ids in the path and strict decoding of JSON bodies (a before_request hook)."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException, ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.logs import request_id

log = logging.getLogger("bookmind.http")
_HEADER = b"x-request-id"


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        method = scope.get("method", "")
        incoming = dict(scope["headers"]).get(_HEADER, b"").decode("latin-1")
        rid = incoming[:64] if incoming else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status: dict[str, Any] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [*message.get("headers", []), (_HEADER, rid.encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %s",
                method,
                scope["path"],
                status.get("code"),
                extra={"duration_ms": round((time.perf_counter() - started) * 1000, 2)},
            )
            request_id.reset(token)

    return middleware


# JSON bodies are decoded strictly, as WebSocket `call` params are: Litestar converts the
# decoded body into the handler's type with msgspec's lax rules, which would take `0` for
# `false` or `"5"` for `5` and store them. The handler's own type, strictly, first.
_BODY_TYPES: dict[Any, Any] = {}
_NO_BODY = object()
_FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}


def _body_type(handler: Any) -> Any:
    found = _BODY_TYPES.get(handler)
    if found is None:
        data = handler.parsed_fn_signature.parameters.get("data")
        annotation = data.annotation if data is not None else None
        is_struct = isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)
        found = _BODY_TYPES[handler] = annotation if is_struct else _NO_BODY
    return found


async def check_request(request: Request[Any, Any, Any]) -> None:
    """before_request: canonical ids in the path, then a strict JSON body."""
    canonical_path_ids(request)
    await strict_json_body(request)


def canonical_path_ids(request: Request[Any, Any, Any]) -> None:
    """Litestar's `uuid` path parameters take whatever Python's UUID() reads: no hyphens,
    braces, a `urn:uuid:` prefix. A resource would have many addresses, and a client's
    malformed id (a fuzzer's, in the negative test) would reach -- and delete -- a real
    row. Only the canonical 8-4-4-4-12 form, in either case, names a resource: 404."""
    segments = request.scope["path"].lower().split("/")
    for value in request.path_params.values():
        if isinstance(value, UUID) and str(value) not in segments:
            raise NotFoundException()


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that is not exactly of the handler's type (422,
    naming the field, through the usual validation error response)."""
    body_type = _body_type(request.route_handler)
    # Litestar reads a Struct body as JSON whatever the Content-Type says (or if none);
    # only form bodies are parsed otherwise, by their own rules
    if body_type is _NO_BODY or request.content_type[0] in _FORM_TYPES:
        return
    try:
        msgspec.json.decode(await request.body() or b"null", type=body_type, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rpartition(" - at `$.")[2].rstrip("`")
        key = path.split(".")[0].split("[")[0] if " - at `$." in message else "data"
        raise ValidationException(
            detail=message, extra=[{"message": message, "key": key}]
        ) from None
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar's own decoding answers it
