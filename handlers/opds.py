"""The reader's library as an OPDS 1.2 catalog under `/opds` (Atom, the format every
reading app reads: KOReader, Moon+ Reader, Thorium, Librera …). Apps sign in with HTTP
Basic auth: the reader's username or email and their sync password (the one KOReader
uses for kosync); a 401 asks for it (`WWW-Authenticate`), which is how apps know to."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import quote as url_quote
from uuid import UUID
from xml.etree.ElementTree import Element

from litestar import Request, Response, Router, get
from litestar.params import Parameter
from litestar.response import Stream

from domain.accounts import devices
from domain.errors import RateLimited, Unauthorized
from domain.opds import atom, catalog
from handlers.http_books import cover_image, file_stream
from server.context import AppContext

CHALLENGE = {"WWW-Authenticate": 'Basic realm="BookMind library", charset="UTF-8"'}
Page = Parameter(query="page", default=1, ge=1, le=catalog.MAX_PAGE)


def quote(value: str) -> str:
    return url_quote(value, safe="")


LIST_TITLES = {"books": "My books", "public": "Public books", "recent": "Recently read"}


class OpdsUnauthorized(Exception):
    def __init__(self, retry_after: int | None = None) -> None:
        self.retry_after = retry_after


def _refused(_: Request[Any, Any, Any], exc: OpdsUnauthorized) -> Response[str]:
    if exc.retry_after:
        return Response("Too many failed sign-ins", status_code=429, media_type="text/plain",
                        headers={"Retry-After": str(exc.retry_after)})  # fmt: skip
    return Response("Sign in with your BookMind username and sync password", status_code=401,
                    media_type="text/plain", headers=CHALLENGE)  # fmt: skip


async def _reader(request: Request[Any, Any, Any], ctx: AppContext) -> UUID:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or len(encoded) > 1024:
        raise OpdsUnauthorized()
    try:
        login, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise OpdsUnauthorized() from None
    if not sep or not login:
        raise OpdsUnauthorized()
    threshold = ctx.settings.login_failures_before_throttle
    try:
        return await devices.device_sign_in(ctx.pool, login, devices.device_key(password),
                                            threshold)  # fmt: skip
    except Unauthorized:
        raise OpdsUnauthorized() from None
    except RateLimited as exc:
        raise OpdsUnauthorized(exc.retry_after_s) from None


def _xml(root: Element, kind: str) -> Response[bytes]:
    return Response(atom.serialize(root), media_type=kind)


@get("/")
async def root(request: Request[Any, Any, Any], ctx: AppContext) -> Response[bytes]:
    await _reader(request, ctx)
    feed = atom.feed("root", "BookMind", atom.ROOT, atom.NAVIGATION)
    for key, summary in (("books", "The books you uploaded"),
                         ("recent", "The books you read lately, the latest first"),
                         ("public", "Books other readers made public")):  # fmt: skip
        atom.navigation_entry(feed, key, LIST_TITLES[key], f"{atom.ROOT}/{key}", summary)
    atom.navigation_entry(feed, "authors", "By author", f"{atom.ROOT}/authors",
                          "Your books and the public ones, by author", atom.NAVIGATION)  # fmt: skip
    return _xml(feed, atom.NAVIGATION)


async def _acquisition(request: Request[Any, Any, Any], ctx: AppContext, feed_id: str,
                       title: str, href: str, page: int, kind: str, *args: Any
                       ) -> Response[bytes]:  # fmt: skip
    user_id = await _reader(request, ctx)
    async with ctx.pool.acquire() as conn:
        found = await catalog.books(conn, user_id, kind, page, *args)
    feed = atom.feed(feed_id, title, href, atom.ACQUISITION)
    atom.pages(feed, href, atom.ACQUISITION, page, len(found) > catalog.PAGE_SIZE)
    for book in found[: catalog.PAGE_SIZE]:
        atom.book_entry(feed, book)
    return _xml(feed, atom.ACQUISITION)


def _list(kind: str) -> Any:
    """The handler of one of catalog.LISTS, at /opds/<kind> (static paths: a path
    parameter here would lose to /opds/books/{id}/… in the router)."""

    @get(f"/{kind}", name=f"opds-{kind}")
    async def handler(
        request: Request[Any, Any, Any], ctx: AppContext, page: int = Page
    ) -> Response[bytes]:
        href = f"{atom.ROOT}/{kind}"
        return await _acquisition(request, ctx, kind, LIST_TITLES[kind], href, page, kind)

    return handler


@get("/authors")
async def authors(
    request: Request[Any, Any, Any], ctx: AppContext, page: int = Page
) -> Response[bytes]:
    user_id = await _reader(request, ctx)
    async with ctx.pool.acquire() as conn:
        found = await catalog.authors(conn, user_id, page)
    href = f"{atom.ROOT}/authors"
    feed = atom.feed("authors", "By author", href, atom.NAVIGATION)
    atom.pages(feed, href, atom.NAVIGATION, page, len(found) > catalog.PAGE_SIZE)
    for name, count in found[: catalog.PAGE_SIZE]:
        label = name or "Unknown author"
        atom.navigation_entry(feed, f"author:{name}", label,
                              f"{atom.ROOT}/author?name={quote(name)}",
                              f"{count} book{'s' if count != 1 else ''}")  # fmt: skip
    return _xml(feed, atom.NAVIGATION)


@get("/author")
async def by_author(
    request: Request[Any, Any, Any], ctx: AppContext, page: int = Page,
    name: str = Parameter(query="name", default="", max_length=500),
) -> Response[bytes]:  # fmt: skip
    href = f"{atom.ROOT}/author?name={quote(name)}"
    return await _acquisition(request, ctx, f"author:{name}", name or "Unknown author", href,
                              page, "author", name)  # fmt: skip


@get("/search")
async def search(
    request: Request[Any, Any, Any], ctx: AppContext, page: int = Page,
    q: str = Parameter(query="q", default="", max_length=200),
) -> Response[bytes]:  # fmt: skip
    href = f"{atom.ROOT}/search?q={quote(q)}"
    return await _acquisition(request, ctx, f"search:{q}", f"Search: {q}", href, page,
                              "search", q)  # fmt: skip


@get("/search.xml")
async def opensearch() -> Response[bytes]:
    return Response(atom.opensearch_description(), media_type=atom.OPENSEARCH_TYPE)


@get("/books/{book_id:uuid}/file")
async def download(book_id: UUID, request: Request[Any, Any, Any], ctx: AppContext) -> Stream:
    user_id = await _reader(request, ctx)
    async with ctx.pool.acquire() as conn:
        return await file_stream(ctx, conn, user_id, book_id)


@get("/books/{book_id:uuid}/cover")
async def cover(book_id: UUID, request: Request[Any, Any, Any], ctx: AppContext
                ) -> Response[bytes]:  # fmt: skip
    user_id = await _reader(request, ctx)
    async with ctx.pool.acquire() as conn:
        return await cover_image(ctx, conn, user_id, book_id)


def opds_router() -> Router:
    return Router(
        path=atom.ROOT,
        route_handlers=[
            root,
            authors,
            by_author,
            search,
            opensearch,
            download,
            cover,
            *(_list(kind) for kind in catalog.LISTS),
        ],
        exception_handlers={OpdsUnauthorized: _refused},
        include_in_schema=False,
    )
