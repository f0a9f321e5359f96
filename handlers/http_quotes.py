"""Quote cards over HTTP (PROTOCOL.md §3 sharing, templates): sharing a highlight,
engagements, templates, and the public pages `/q/{code}` and `/q/{code}.png`, which need
no sign-in."""

from __future__ import annotations

import html
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_201_CREATED,
    HTTP_204_NO_CONTENT,
    HTTP_410_GONE,
)

from domain.accounts.operations import ClientInfo
from domain.errors import NotFound
from domain.pagination import DEFAULT_LIMIT, Page, check_limit
from domain.social import collections, quotes
from domain.social.models import (
    Collection,
    CollectionCreate,
    CollectionItem,
    CollectionItemCreate,
    CollectionItemPatch,
    CollectionPatch,
    EngagementCreate,
    QuoteShare,
    ShareCreate,
    Template,
)
from domain.social.trending import Timeframe, Trending
from domain.social.trending import current as current_trending
from handlers.deps import PooledConn
from handlers.http_reading import Device, published, user_paged
from server.context import AppContext


class QuotesController(Controller):
    tags = ["sharing"]

    @post("/highlights/{highlight_id:uuid}/share", status_code=HTTP_201_CREATED)
    async def share(
        self, highlight_id: UUID, data: ShareCreate, ctx: AppContext, conn: PooledConn,
        user_id: UUID, device: str | None = Device,
    ) -> Response[QuoteShare]:  # fmt: skip
        written = await quotes.share(conn, ctx.files, user_id, highlight_id, data,
                                     ctx.settings.public_base_url, device)  # fmt: skip
        return published(ctx, written, creates=True)

    @get("/quotes/{share_id:uuid}")
    async def get_quote(self, share_id: UUID, conn: PooledConn, user_id: UUID) -> QuoteShare:
        return await quotes.see(conn, share_id, quotes.reader(user_id))

    @get("/quotes")
    async def my_quotes(
        self, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Response[Page[QuoteShare]]:  # fmt: skip
        limit = check_limit(limit)
        return await user_paged(conn, user_id, lambda: quotes.mine(conn, user_id, cursor, limit))

    @delete("/quotes/{share_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove_quote(
        self, share_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> None:
        await quotes.remove(conn, ctx.files, user_id, share_id)

    @post("/quotes/{share_id:uuid}/engagements", status_code=HTTP_201_CREATED)
    async def engage(
        self, share_id: UUID, data: EngagementCreate, conn: PooledConn, user_id: UUID
    ) -> QuoteShare:
        return await quotes.engage(conn, share_id, data, quotes.reader(user_id))

    @delete("/quotes/{share_id:uuid}/engagements/{kind:str}", status_code=HTTP_200_OK)
    async def disengage(
        self, share_id: UUID, kind: str, conn: PooledConn, user_id: UUID
    ) -> QuoteShare:
        return await quotes.disengage(conn, share_id, kind, quotes.reader(user_id))

    @get("/trending")
    async def trending(self, conn: PooledConn, timeframe: Timeframe = "daily") -> Trending:
        return await current_trending(conn, timeframe)

    @get("/templates")
    async def templates(self, conn: PooledConn) -> list[Template]:
        return await quotes.templates(conn)


class CollectionsController(Controller):
    path = "/collections"
    tags = ["sharing"]

    @post("/", status_code=HTTP_201_CREATED)
    async def create(self, data: CollectionCreate, conn: PooledConn, user_id: UUID) -> Collection:
        return await collections.create(conn, user_id, data)

    @get("/")
    async def mine(
        self, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[Collection]:  # fmt: skip
        return await collections.mine(conn, user_id, cursor, check_limit(limit))

    @get("/public")
    async def public(
        self, conn: PooledConn, cursor: str | None = None, limit: int = DEFAULT_LIMIT,
        theme: str | None = Parameter(query="theme", default=None, max_length=60),
    ) -> Page[Collection]:  # fmt: skip
        return await collections.public(conn, theme, cursor, check_limit(limit))

    @get("/following")
    async def following(
        self, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Page[Collection]:  # fmt: skip
        return await collections.followed(conn, user_id, cursor, check_limit(limit))

    @get("/{collection_id:uuid}")
    async def view(self, collection_id: UUID, conn: PooledConn, user_id: UUID) -> Collection:
        return await collections.view(conn, user_id, collection_id)

    @patch("/{collection_id:uuid}")
    async def change(
        self, collection_id: UUID, data: CollectionPatch, conn: PooledConn, user_id: UUID
    ) -> Collection:
        return await collections.update(conn, user_id, collection_id, data)

    @delete("/{collection_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove(self, collection_id: UUID, conn: PooledConn, user_id: UUID) -> None:
        await collections.delete(conn, user_id, collection_id)

    @post("/{collection_id:uuid}/follow", status_code=HTTP_200_OK)
    async def follow(self, collection_id: UUID, conn: PooledConn, user_id: UUID) -> Collection:
        return await collections.follow(conn, user_id, collection_id)

    @delete("/{collection_id:uuid}/follow", status_code=HTTP_204_NO_CONTENT)
    async def unfollow(self, collection_id: UUID, conn: PooledConn, user_id: UUID) -> None:
        await collections.unfollow(conn, user_id, collection_id)

    @patch("/{collection_id:uuid}/items/{share_id:uuid}")
    async def change_item(
        self, collection_id: UUID, share_id: UUID, data: CollectionItemPatch, conn: PooledConn,
        user_id: UUID,
    ) -> CollectionItem:  # fmt: skip
        return await collections.change_item(conn, user_id, collection_id, share_id, data)

    @post("/{collection_id:uuid}/items", status_code=HTTP_201_CREATED)
    async def add_item(
        self, collection_id: UUID, data: CollectionItemCreate, conn: PooledConn, user_id: UUID
    ) -> CollectionItem:
        return await collections.add(conn, user_id, collection_id, data)

    @delete("/{collection_id:uuid}/items/{share_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def remove_item(
        self, collection_id: UUID, share_id: UUID, conn: PooledConn, user_id: UUID
    ) -> None:
        await collections.remove(conn, user_id, collection_id, share_id)


@get("/q/{code:str}", include_in_schema=False, media_type="text/html")
async def quote_page(
    code: str, ctx: AppContext, conn: PooledConn, client: ClientInfo
) -> Response[str]:
    if code.endswith(".png"):
        return await _card(code.removesuffix(".png"), ctx, conn)  # type: ignore[return-value]
    try:
        quote = await quotes.public_view(conn, code, quotes.anonymous(client.ip))
    except NotFound:
        if await quotes.removed_at(conn, code) is None:
            raise
        return Response(REMOVED_PAGE, status_code=HTTP_410_GONE, media_type="text/html",
                        headers={"Cache-Control": "no-store"})  # fmt: skip
    return Response(page(quote, ctx.settings.public_base_url), media_type="text/html",
                    headers={"Cache-Control": "no-store"})  # fmt: skip


REMOVED_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Quote removed — BookMind</title></head>
<body><main><h1>This quote was removed</h1>
<p>The reader who shared it has taken it down.</p></main></body>
</html>
"""


async def _card(code: str, ctx: AppContext, conn: PooledConn) -> Response[bytes]:
    quote = await quotes.by_code(conn, code)
    try:
        image = await ctx.files.get(quotes.card_key(quote.id))
    except FileNotFoundError:
        raise NotFound("no card for this quote") from None
    return Response(image, media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})  # fmt: skip


def page(quote: QuoteShare, base_url: str) -> str:
    """The public page: the quote as text (every value escaped, so a quote holding markup
    shows as the characters it is), with Open Graph and Twitter card tags."""
    e = html.escape
    credit = " \u2014 ".join(x for x in (quote.author_attribution, quote.book_attribution) if x)
    title = f"A quote from {quote.book_attribution}" if quote.book_attribution else "A quote"
    url = quote.shareable_url or f"{base_url}/q/{quote.referral_code}"
    image = quote.card_image_url or f"{url}.png"
    description = (
        quote.quote_text if len(quote.quote_text) <= 200 else quote.quote_text[:199] + "\u2026"
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)} \u00b7 BookMind</title>
<meta property="og:type" content="article">
<meta property="og:site_name" content="BookMind">
<meta property="og:title" content="{e(title)}">
<meta property="og:description" content="{e(description)}">
<meta property="og:url" content="{e(url)}">
<meta property="og:image" content="{e(image)}">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:title" content="{e(title)}">
<meta name="twitter:description" content="{e(description)}">
<meta name="twitter:image" content="{e(image)}">
<style>body{{font-family:Georgia,serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}}
blockquote{{font-size:1.5rem;line-height:1.5;margin:0}}img{{max-width:100%;margin-top:2rem}}</style>
</head>
<body>
<blockquote>\u201c{e(quote.quote_text)}\u201d</blockquote>
<p>{e(credit)}</p>
{f"<p>{e(quote.share_message)}</p>" if quote.share_message else ""}
<img src="{e(image)}" alt="{e(quote.quote_text)}">
</body>
</html>
"""
