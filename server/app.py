"""create_app(settings) -> Litestar: the one place the web process is wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.allowed_hosts import AllowedHostsMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController

from handlers import (
    deps,
    http_admin,
    http_ai,
    http_auth,
    http_billing,
    http_books,
    http_exports,
    http_imports,
    http_media,
    http_notifications,
    http_ops,
    http_quotes,
    http_reading,
    http_social,
    http_users,
    kosync,
    opds,
    web,
)
from handlers.ws import make_ws_app
from server.context import build_context, running
from server.errors import EXCEPTION_HANDLERS
from server.logs import configure_logging
from server.requests import check_request, request_id_middleware
from server.settings import Settings

API_PREFIX = "/api/v1"
MAX_JSON_BODY_BYTES = 256 * 1024


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False


Asgi = Callable[[Any, Any, Any], Awaitable[None]]


class BookMindApp:
    """The ASGI app: `/ws` goes straight to the socket loop, everything else (lifespan
    included) to Litestar."""

    def __init__(self, litestar: Litestar, ws_app: Asgi, hosts: AllowedHostsConfig) -> None:
        self.litestar = litestar
        self.ws_app = ws_app
        self.hosts = AllowedHostsMiddleware(litestar, hosts).allowed_hosts_regex

    def __call__(self, scope: Any, receive: Any, send: Callable[[Any], Awaitable[None]]
                 ) -> Awaitable[None]:  # fmt: skip
        # returns the chosen app's coroutine rather than awaiting it: no frame of ours
        # stays alive under every socket and request
        if scope["type"] == "websocket" and scope["path"] == "/ws":
            if not self._trusted(scope):
                return send({"type": "websocket.close", "code": 1008})
            return self.ws_app(scope, receive, send)
        return self.litestar(scope, receive, send)

    def _trusted(self, scope: Any) -> bool:
        """The Host check Litestar's middleware makes on HTTP, for the socket (which is
        dispatched before Litestar)."""
        if self.hosts is None:
            return True
        host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        return self.hosts.fullmatch(host) is not None


def create_app(settings: Settings | None = None) -> BookMindApp:
    settings = settings or Settings.from_env()
    configure_logging(settings)
    ctx = build_context(settings)

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        async with running(ctx):
            yield

    prometheus = PrometheusConfig(
        app_name="bookmind", prefix="bookmind", group_path=True, exclude=["^/metrics$"]
    )
    api = Router(
        path=API_PREFIX,
        route_handlers=[
            http_auth.AuthController,
            http_users.UsersController,
            http_books.BooksController,
            http_books.library_search,
            Router(
                path="/",
                route_handlers=[http_books.BookUploadController],
                # the file itself is checked exactly against the limit; this bounds the
                # whole request (form fields and multipart framing around the file)
                request_max_body_size=settings.max_upload_bytes + 1024 * 1024,
            ),
            http_ai.AiController,
            http_social.SocialController,
            http_quotes.QuotesController,
            http_quotes.CollectionsController,
            http_notifications.NotificationsController,
            http_admin.admin_health,
            http_admin.set_subscription,
            http_billing.stripe_webhook,
            http_reading.BookReadingController,
            http_reading.ReadingItemsController,
            http_exports.ExportsController,
            http_imports.imports_router(),
            http_media.media_router(),
        ],
    )
    hosts = AllowedHostsConfig(allowed_hosts=settings.trusted_hosts())
    litestar = Litestar(
        route_handlers=[
            http_ops.healthz,
            http_ops.readyz,
            http_quotes.quote_page,
            web.index,
            web.static_files(),
            kosync.kosync_router(),
            opds.opds_router(),
            MetricsController,
            api,
        ],
        lifespan=[lifespan],
        state=State({"ctx": ctx}),
        dependencies={
            "ctx": Provide(deps.provide_ctx, sync_to_thread=False),
            "conn": Provide(deps.provide_conn),
            "user_id": Provide(deps.provide_user_id, sync_to_thread=False),
            "client": Provide(deps.provide_client, sync_to_thread=False),
        },
        middleware=[request_id_middleware, prometheus.middleware],
        before_request=check_request,
        on_app_init=[ctx.tokens.jwt_auth.on_app_init],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(title="BookMind", version="1.0.0", path="/schema"),
        logging_config=None,
        # JSON bodies are small; only the upload route (above) takes files
        request_max_body_size=MAX_JSON_BODY_BYTES,
        debug=False,
        # a forged Host header gets 400: links are built from PUBLIC_URL alone anyway
        allowed_hosts=hosts,
    )
    return BookMindApp(litestar, make_ws_app(ctx), hosts)
