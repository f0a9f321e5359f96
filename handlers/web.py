"""The web reader (issue 15): its page at `/` and its files under `/static/`, served by
the same app. The files are plain ES modules with no build step (`web/`)."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

# Scripts and styles come from this origin only, so text that slipped into the page could
# not run; images may be covers (blob:) and cards; the socket is same-origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@get("/", include_in_schema=False, media_type="text/html")
async def index() -> Response[bytes]:
    # read at each request: small, and an edit shows without a restart
    return Response((WEB_DIR / "index.html").read_bytes(), headers=SECURITY_HEADERS,
                    media_type="text/html")  # fmt: skip


def static_files() -> Router:
    return create_static_files_router(
        # revalidated at each load, so a new release reaches open browsers on reload
        path="/static", directories=[WEB_DIR], cache_control=CacheControlHeader(no_cache=True),
    )  # fmt: skip
