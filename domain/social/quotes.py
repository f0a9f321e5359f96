"""Quote shares: a highlight made into a card with a public link, engagements, the
public page's data, and templates."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import events as ev
from domain.errors import Forbidden, Invalid, NotFound
from domain.events import Event, append_events, user_channel
from domain.pagination import Page, decode_cursor, page_of
from domain.ports import FileStore
from domain.social import cards
from domain.social.files import quote_files_prefix
from domain.social.models import EngagementCreate, QuoteShare, ShareCreate, Template
from domain.social.sql import Q
from domain.sql import Conn
from domain.writes import Written

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
QUOTE_MIN, QUOTE_MAX = 10, 500


def card_key(share_id: UUID) -> str:
    return quote_files_prefix(share_id) + "card.png"


def share_from_row(row: Any) -> QuoteShare:
    return msgspec.convert(dict(row), QuoteShare)


def _design(template: Template, custom: dict[str, Any]) -> dict[str, Any]:
    design = dict(template.design_config)
    for key in ("text_color", "accent_color"):
        if key in custom:
            if not isinstance(custom[key], str) or not _COLOR.match(custom[key]):
                raise Invalid(f"{key} is a color like #1A2B3C", field=f"customizations.{key}")
            design[key] = custom[key]
    if "background" in custom:
        colors = custom["background"]
        if (not isinstance(colors, list) or not 1 <= len(colors) <= 2
                or not all(isinstance(c, str) and _COLOR.match(c) for c in colors)):  # fmt: skip
            raise Invalid("background is one or two colors like #1A2B3C",
                          field="customizations.background")  # fmt: skip
        design["background"] = {"colors": colors}
    return design


async def share(
    conn: Conn, files: FileStore, user_id: UUID, highlight_id: UUID, cmd: ShareCreate,
    base_url: str, origin: str | None,
) -> Written[QuoteShare]:  # fmt: skip
    row = await conn.fetchrow(Q.highlight_to_share, highlight_id, user_id)
    if row is None or not row["book_readable"] or (row["user_id"] != user_id and not row["public"]):
        # another reader's private highlight, or one on a book the caller may not read
        raise NotFound("no such highlight")
    if not row["confirmed"]:  # a card is a public page: spam needs a real address first
        raise Forbidden("confirm your email address to share quote cards; "
                        "POST /users/me/confirmation mails the link again")  # fmt: skip
    text = " ".join(row["selected_text"].split())
    if not QUOTE_MIN <= len(text) <= QUOTE_MAX:
        raise Invalid(f"a quote is {QUOTE_MIN} to {QUOTE_MAX} characters; this highlight has "
                      f"{len(text)}", field="quote_text")  # fmt: skip
    template_row = await conn.fetchrow(Q.active_template, cmd.template_id)
    if template_row is None:
        raise NotFound("no such template", field="template_id")
    template = msgspec.convert(dict(template_row), Template)
    if template.is_premium and row["tier"] == "free":
        raise Forbidden("this template is for Pro and Premium readers")
    design = _design(template, {str(k): v for k, v in cmd.customizations.items()})
    platform = cmd.platforms[0] if cmd.platforms else None
    size = cards.size_for(template.platform_optimizations, platform)
    png = await asyncio.to_thread(cards.render, text, row["author"], row["title"], design, size)
    share_id = uuid.uuid4()
    await files.put(card_key(share_id), png, "image/png")
    try:
        async with conn.transaction():
            made = await _insert(conn, share_id, user_id, row, text, cmd, base_url)
            await conn.execute(Q.count_share, user_id, highlight_id)
            stored = await append_events(
                conn, [Event(user_channel(user_id), ev.QUOTE_SHARED, made)], origin
            )
    except BaseException:
        await files.delete_prefix(quote_files_prefix(share_id))
        raise
    return Written(made, stored)


async def _insert(conn: Conn, share_id: UUID, user_id: UUID, row: Any, text: str,
                  cmd: ShareCreate, base_url: str) -> QuoteShare:  # fmt: skip
    for _ in range(5):  # a referral code collision is astronomically rare; retry anyway
        code = secrets.token_urlsafe(8)
        try:
            async with conn.transaction():
                made = await conn.fetchrow(
                    Q.insert_share, share_id, user_id, row["book_id"], row["id"],
                    cmd.template_id, text, row["author"], row["title"], dict(cmd.customizations),
                    f"{base_url}/q/{code}.png", f"{base_url}/q/{code}", cmd.share_message,
                    list(cmd.hashtags), list(cmd.platforms), code,
                )  # fmt: skip
            return share_from_row(made)
        except asyncpg.UniqueViolationError:
            continue
    raise RuntimeError("could not find a free referral code")


async def see(conn: Conn, share_id: UUID, visitor: str) -> QuoteShare:
    """Any signed-in reader may see a share (sharing made it public); seeing it in the
    app is a view, as on its public page, once a day per reader."""
    return await engage(conn, share_id, EngagementCreate(kind="view"), visitor)


def reader(user_id: UUID) -> str:
    """A signed-in reader as an engagement visitor."""
    return f"u:{user_id}"


def anonymous(address: str | None) -> str:
    """A visitor of a public page, by address (kept hashed: no addresses at rest)."""
    return "a:" + hashlib.sha256((address or "").encode()).hexdigest()[:32]


async def engage(conn: Conn, share_id: UUID, cmd: EngagementCreate, visitor: str) -> QuoteShare:
    """Count an engagement once per visitor: a like or save once ever, any other kind
    once a day (the share comes back unchanged when it was counted already)."""
    row = await conn.fetchrow(Q.engage, share_id, cmd.kind, visitor)
    if row is None:
        raise NotFound("no such quote")
    return share_from_row(row)


async def disengage(conn: Conn, share_id: UUID, kind: str, visitor: str) -> QuoteShare:
    """Take back the visitor's like or save."""
    if kind not in {"like", "save"}:
        raise Invalid("only a like or a save can be taken back", field="kind")
    row = await conn.fetchrow(Q.disengage, share_id, kind, visitor)
    if row is None:
        raise NotFound("no such quote")
    return share_from_row(row)


async def public_view(conn: Conn, code: str, visitor: str) -> QuoteShare:
    """The public page was opened: counts a view, once a day per visitor."""
    row = await conn.fetchrow(Q.viewed_by_code, code, visitor)
    if row is None:
        raise NotFound("no such quote")
    return share_from_row(row)


async def by_code(conn: Conn, code: str) -> QuoteShare:
    row = await conn.fetchrow(Q.share_by_code, code)
    if row is None:
        raise NotFound("no such quote")
    return share_from_row(row)


async def templates(conn: Conn) -> list[Template]:
    return [msgspec.convert(dict(r), Template) for r in await conn.fetch(Q.templates)]


async def mine(conn: Conn, user_id: UUID, cursor: str | None, limit: int) -> Page[QuoteShare]:
    """The reader's own shares, newest first, with their counts."""
    stamp, last_id = decode_cursor(cursor) or (None, None)
    rows = await conn.fetch(Q.my_shares, user_id, stamp, last_id, limit + 1)
    return page_of([share_from_row(r) for r in rows], limit, lambda q: (q.created_at, q.id))


async def remove(conn: Conn, files: FileStore, user_id: UUID, share_id: UUID) -> None:
    """The reader takes back a card they shared: it leaves every collection, its files
    go, and its public page says it was removed (`removed_at`)."""
    async with conn.transaction():
        if await conn.fetchval(Q.remove_share, share_id, user_id) is None:
            owner = await conn.fetchval(Q.share_owner, share_id)
            if owner is None:
                raise NotFound("no such quote")
            raise Forbidden("only the reader who shared it removes a quote")
    await files.delete_prefix(quote_files_prefix(share_id))


async def removed_at(conn: Conn, code: str) -> datetime | None:
    """When the share behind a public link was removed by its reader (None: it never was)."""
    stamp: datetime | None = await conn.fetchval(Q.removed_code, code)
    return stamp
