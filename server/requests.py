"""ASGI middleware: a request id for every HTTP request, its log line and its latency."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from litestar.enums import ScopeType
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
