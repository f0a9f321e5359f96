"""The WebSocket `call` methods: each decodes its params and runs the same domain
operation as the matching REST route (PROTOCOL.md §4.2). Params are the REST body plus
the ids the REST path would carry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec

from domain.books import library
from domain.books.library import RatingSet
from domain.notifications import operations as notifications
from domain.notifications.operations import MarkRead
from domain.reading import annotations as annotation_ops
from domain.reading import bookmarks, highlights, progress, sessions
from domain.reading.changes import Change, Kind, Op
from domain.reading.models import (
    AnnotationCreate,
    AnnotationPatch,
    AutoBookmark,
    BookmarkCreate,
    BookmarkPatch,
    HighlightCreate,
    HighlightPatch,
    ProgressUpdate,
    SessionEnd,
    SessionStart,
)
from domain.social import follows, quotes
from domain.social.models import EngagementCreate, ShareCreate
from domain.sql import Conn
from domain.writes import Written
from server.context import AppContext


@dataclass(frozen=True, slots=True)
class Caller:
    user_id: UUID
    device: str
    base_url: str = ""  # where the public pages of what the caller shares live


class ById(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id: UUID


class ProgressUpdateParams(ProgressUpdate, kw_only=True):
    book_id: UUID


class SessionStartParams(SessionStart, kw_only=True):
    book_id: UUID


class SessionEndParams(SessionEnd, kw_only=True):
    id: UUID


class HighlightCreateParams(HighlightCreate, kw_only=True):
    book_id: UUID


class HighlightUpdateParams(HighlightPatch, kw_only=True):
    id: UUID


class BookmarkCreateParams(BookmarkCreate, kw_only=True):
    book_id: UUID


class BookmarkUpdateParams(BookmarkPatch, kw_only=True):
    id: UUID


class AutoBookmarkParams(AutoBookmark, kw_only=True):
    book_id: UUID


class AnnotationCreateParams(AnnotationCreate, kw_only=True):
    book_id: UUID


class AnnotationUpdateParams(AnnotationPatch, kw_only=True):
    id: UUID


Run = Callable[[Conn, Caller, Any], Awaitable[Written[Any]]]
# a write that needs more of the process than one connection: committed in a group
# with concurrent ones (server.group_commit), or storing files
CtxRun = Callable[[AppContext, Caller, Any], Awaitable[Written[Any]]]


After = Callable[[Any, UUID, Written[Any]], None]


@dataclass(frozen=True, slots=True)
class Method:
    """How a call runs: on a connection of its own (`run`) or with the process context
    (`ctx_run`)."""

    decode: Callable[[bytes], Any]
    run: Run | None = None
    ctx_run: CtxRun | None = None
    after: After | None = None  # what else a committed write sets going (app context, user)


def _method(params: type[Any], run: Run, after: After | None = None) -> Method:
    return Method(msgspec.json.Decoder(params).decode, run, after=after)


def _with_ctx(params: type[Any], ctx_run: CtxRun) -> Method:
    return Method(msgspec.json.Decoder(params).decode, ctx_run=ctx_run)


def _changes(kind: Kind, op: Op, params: type[Any]) -> Method:
    """Updates, deletes or restores of one kind, committed in groups with every other."""
    return _with_ctx(
        params,
        lambda ctx, c, p: ctx.changes.submit(
            Change(kind, op, p.id, c.user_id, c.device, p if op == "update" else None)
        ),
    )


class ShareParams(ShareCreate, kw_only=True):
    highlight_id: UUID


class EngageParams(EngagementCreate, kw_only=True):
    share_id: UUID


async def _share(ctx: AppContext, c: Caller, p: ShareParams) -> Written[Any]:
    async with ctx.pool.acquire() as db:
        return await quotes.share(db, ctx.files, c.user_id, p.highlight_id, p, c.base_url,
                                  c.device)  # fmt: skip


async def _engage(db: Conn, c: Caller, p: EngageParams) -> Written[Any]:
    # engagements publish no event
    return Written(await quotes.engage(db, p.share_id, p, quotes.reader(c.user_id)))


class DisengageParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    share_id: UUID
    kind: str


async def _disengage(db: Conn, c: Caller, p: DisengageParams) -> Written[Any]:
    return Written(await quotes.disengage(db, p.share_id, p.kind, quotes.reader(c.user_id)))


class RateParams(RatingSet, kw_only=True):
    book_id: UUID


async def _rate(db: Conn, c: Caller, p: RateParams) -> Written[Any]:
    # a rating publishes no event
    return Written(await library.rate(db, c.user_id, p.book_id, p))


async def _read_notifications(db: Conn, c: Caller, p: MarkRead) -> Written[Any]:
    return Written(await notifications.mark_read(db, c.user_id, p))


class ByUsername(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    username: str


def _feed_follows(follows_now: bool) -> After:
    def after(ctx: Any, user_id: UUID, written: Written[Any]) -> None:
        ctx.feed.following_changed(user_id, written.value.id, follows_now)

    return after


METHODS: dict[str, Method] = {
    "progress.update": _with_ctx(
        ProgressUpdateParams,
        lambda ctx, c, p: ctx.progress_updates.submit(
            progress.ProgressWrite(c.user_id, p.book_id, p, c.device)
        ),
    ),
    "session.start": _with_ctx(
        SessionStartParams,
        lambda ctx, c, p: ctx.session_starts.submit(
            sessions.new_session(c.user_id, p.book_id, p, c.device)
        ),
    ),
    "session.end": _with_ctx(
        SessionEndParams,
        lambda ctx, c, p: ctx.session_ends.submit(sessions.Ending(p.id, c.user_id, p, c.device)),
    ),
    "highlight.create": _with_ctx(
        HighlightCreateParams,
        lambda ctx, c, p: ctx.highlight_creates.submit(
            highlights.new_highlight(c.user_id, p.book_id, p, c.device)
        ),
    ),
    "highlight.update": _changes(highlights.KIND, "update", HighlightUpdateParams),
    "highlight.delete": _changes(highlights.KIND, "delete", ById),
    "highlight.restore": _changes(highlights.KIND, "restore", ById),
    "bookmark.create": _with_ctx(
        BookmarkCreateParams,
        lambda ctx, c, p: ctx.bookmark_creates.submit(
            bookmarks.new_bookmark(c.user_id, p.book_id, p, c.device)
        ),
    ),
    "bookmark.update": _changes(bookmarks.KIND, "update", BookmarkUpdateParams),
    "bookmark.delete": _changes(bookmarks.KIND, "delete", ById),
    "bookmark.restore": _changes(bookmarks.KIND, "restore", ById),
    "bookmark.auto": _with_ctx(
        AutoBookmarkParams,
        lambda ctx, c, p: ctx.auto_bookmarks.submit(
            bookmarks.AutoMove(c.user_id, p.book_id, p, c.device)
        ),
    ),
    "annotation.create": _with_ctx(
        AnnotationCreateParams,
        lambda ctx, c, p: ctx.annotation_creates.submit(
            annotation_ops.new_annotation(c.user_id, p.book_id, p, c.device)
        ),
    ),
    "annotation.update": _changes(annotation_ops.KIND, "update", AnnotationUpdateParams),
    "annotation.delete": _changes(annotation_ops.KIND, "delete", ById),
    "annotation.restore": _changes(annotation_ops.KIND, "restore", ById),
    "follow": _method(
        ByUsername,
        lambda db, c, p: follows.follow(db, c.user_id, p.username, c.device),
        _feed_follows(True),
    ),
    "unfollow": _method(
        ByUsername,
        lambda db, c, p: follows.unfollow(db, c.user_id, p.username, c.device),
        _feed_follows(False),
    ),
    "quote.share": _with_ctx(ShareParams, _share),
    "quote.engage": _method(EngageParams, _engage),
    "quote.disengage": _method(DisengageParams, _disengage),
    "book.rate": _method(RateParams, _rate),
    "notifications.read": _method(MarkRead, _read_notifications),
}
