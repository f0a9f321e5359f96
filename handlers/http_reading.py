"""REST for reading data (PROTOCOL.md §3): progress, sessions, highlights, bookmarks,
annotations. Each write runs the same domain operation as its WebSocket `call`, then
publishes the committed events; each read of channel-reported state carries
`X-Event-Seq`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from domain.events import user_channel
from domain.pagination import DEFAULT_LIMIT, Page, check_limit
from domain.reading import across_books, bookmarks, highlights, progress, sessions
from domain.reading import annotations as annotation_ops
from domain.reading.across_books import AnnotationFilter, BookmarkFilter, HighlightFilter
from domain.reading.changes import Change
from domain.reading.models import (
    Annotation,
    AnnotationCreate,
    AnnotationPatch,
    AnnotationType,
    AutoBookmark,
    Bookmark,
    BookmarkCategory,
    BookmarkCreate,
    BookmarkPatch,
    Category,
    Color,
    Highlight,
    HighlightCreate,
    HighlightPatch,
    Progress,
    ProgressUpdate,
    ProgressView,
    ReadingSession,
    ReadingState,
    SessionEnd,
    SessionStart,
)
from domain.sql import Conn
from domain.writes import Written, read_with_heads
from handlers.deps import PooledConn
from server.context import AppContext

T = TypeVar("T")
Device = Parameter(header="X-Device", required=False, max_length=64)
Limit = Parameter(query="limit", ge=1, le=100, default=DEFAULT_LIMIT)
Words = Parameter(query="q", default=None, min_length=1, max_length=200)


def event_seq_header(heads: dict[str, int]) -> dict[str, str]:
    return {"X-Event-Seq": ", ".join(f"{c}={s}" for c, s in heads.items())}


def published(ctx: AppContext, written: Written[T], *, creates: bool = False) -> Response[T]:
    """Fan out what the write committed; answer 201 for a creation, 200 for a retry."""
    ctx.hub.publish(written.events)
    status = HTTP_201_CREATED if creates and written.created else HTTP_200_OK
    return Response(written.value, status_code=status)


def paged(page: Page[T], heads: dict[str, int]) -> Response[Page[T]]:
    return Response(page, headers=event_seq_header(heads))


async def user_paged(
    conn: Conn, user_id: UUID, read: Callable[[], Awaitable[Page[T]]]
) -> Response[Page[T]]:
    """A page of what the reader's own channel reports on, with that channel's head
    read in the same snapshot (PROTOCOL.md §4.3, `X-Event-Seq`)."""
    return paged(*await read_with_heads(conn, [user_channel(user_id)], read))


class BookReadingController(Controller):
    """Routes under a book."""

    path = "/books/{book_id:uuid}"
    tags = ["reading"]

    @put("/progress")
    async def put_progress(
        self, book_id: UUID, data: ProgressUpdate, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Progress]:  # fmt: skip
        write = progress.ProgressWrite(user_id, book_id, data, device)
        return published(ctx, await ctx.progress_updates.submit(write))

    @get("/progress")
    async def get_progress(
        self, book_id: UUID, conn: PooledConn, user_id: UUID
    ) -> Response[ProgressView]:
        view, heads = await progress.view(conn, user_id, book_id)
        return Response(view, headers=event_seq_header(heads))

    @delete("/progress/furthest", status_code=HTTP_200_OK)
    async def reset_furthest(self, book_id: UUID, conn: PooledConn, user_id: UUID) -> ProgressView:
        return await progress.reset_furthest(conn, user_id, book_id)

    @post("/sessions")
    async def start_session(
        self, book_id: UUID, data: SessionStart, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[ReadingSession]:  # fmt: skip
        new = sessions.new_session(user_id, book_id, data, device)
        written = await ctx.session_starts.submit(new)
        return published(ctx, written, creates=True)

    @get("/sessions")
    async def list_sessions(
        self, book_id: UUID, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = Limit,
    ) -> Response[Page[ReadingSession]]:  # fmt: skip
        limit = check_limit(limit)
        return await user_paged(conn, user_id, lambda: sessions.history(
            conn, user_id, book_id, cursor=cursor, limit=limit))  # fmt: skip

    @get("/reading")
    async def reading_state(self, book_id: UUID, conn: PooledConn, user_id: UUID) -> ReadingState:
        return await sessions.reading_state(conn, user_id, book_id)

    @post("/highlights")
    async def create_highlight(
        self, book_id: UUID, data: HighlightCreate, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Highlight]:  # fmt: skip
        new = highlights.new_highlight(user_id, book_id, data, device)
        written = await ctx.highlight_creates.submit(new)
        return published(ctx, written, creates=True)

    @get("/highlights")
    async def list_highlights(
        self, book_id: UUID, conn: PooledConn, user_id: UUID,
        # named `scope` on the wire: the Python name `scope` is Litestar's ASGI scope
        whose: Literal["own", "public"] = Parameter(query="scope", default="own"),
        cursor: str | None = None, limit: int = Limit,
    ) -> Response[Page[Highlight]]:  # fmt: skip
        page, heads = await highlights.list_for_book(
            conn, user_id, book_id, public=whose == "public", cursor=cursor,
            limit=check_limit(limit),
        )  # fmt: skip
        return paged(page, heads)

    @post("/bookmarks")
    async def create_bookmark(
        self, book_id: UUID, data: BookmarkCreate, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Bookmark]:  # fmt: skip
        new = bookmarks.new_bookmark(user_id, book_id, data, device)
        written = await ctx.bookmark_creates.submit(new)
        return published(ctx, written, creates=True)

    @get("/bookmarks")
    async def list_bookmarks(
        self, book_id: UUID, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = Limit,
    ) -> Response[Page[Bookmark]]:  # fmt: skip
        page, heads = await bookmarks.list_for_book(
            conn, user_id, book_id, cursor=cursor, limit=check_limit(limit)
        )
        return paged(page, heads)

    @put("/auto-bookmark")
    async def auto_bookmark(
        self, book_id: UUID, data: AutoBookmark, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Bookmark]:  # fmt: skip
        move = bookmarks.AutoMove(user_id, book_id, data, device)
        return published(ctx, await ctx.auto_bookmarks.submit(move))

    @post("/annotations")
    async def create_annotation(
        self, book_id: UUID, data: AnnotationCreate, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Annotation]:  # fmt: skip
        new = annotation_ops.new_annotation(user_id, book_id, data, device)
        written = await ctx.annotation_creates.submit(new)
        return published(ctx, written, creates=True)

    @get("/annotations")
    async def list_annotations(
        self, book_id: UUID, conn: PooledConn, user_id: UUID,
        q: str | None = Parameter(query="q", required=False, max_length=200),
        cursor: str | None = None, limit: int = Limit,
    ) -> Response[Page[Annotation]]:  # fmt: skip
        page, heads = await annotation_ops.list_for_book(
            conn, user_id, book_id, query=q, cursor=cursor, limit=check_limit(limit)
        )
        return paged(page, heads)


class ReadingItemsController(Controller):
    """Routes addressed by the item's own id."""

    path = "/"
    tags = ["reading"]

    @patch("/sessions/{session_id:uuid}")
    async def end_session(
        self, session_id: UUID, data: SessionEnd, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[ReadingSession]:  # fmt: skip
        ending = sessions.Ending(session_id, user_id, data, device)
        return published(ctx, await ctx.session_ends.submit(ending))

    @patch("/highlights/{item_id:uuid}")
    async def update_highlight(
        self, item_id: UUID, data: HighlightPatch, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Highlight]:  # fmt: skip
        change = Change(highlights.KIND, "update", item_id, user_id, device, data)
        return published(ctx, await ctx.changes.submit(change))

    @delete("/highlights/{item_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_highlight(
        self, item_id: UUID, ctx: AppContext, user_id: UUID, device: str | None = Device
    ) -> None:
        change = Change(highlights.KIND, "delete", item_id, user_id, device)
        published(ctx, await ctx.changes.submit(change))

    @patch("/bookmarks/{item_id:uuid}")
    async def update_bookmark(
        self, item_id: UUID, data: BookmarkPatch, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Bookmark]:  # fmt: skip
        change = Change(bookmarks.KIND, "update", item_id, user_id, device, data)
        return published(ctx, await ctx.changes.submit(change))

    @delete("/bookmarks/{item_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_bookmark(
        self, item_id: UUID, ctx: AppContext, user_id: UUID, device: str | None = Device
    ) -> None:
        change = Change(bookmarks.KIND, "delete", item_id, user_id, device)
        published(ctx, await ctx.changes.submit(change))

    @patch("/annotations/{item_id:uuid}")
    async def update_annotation(
        self, item_id: UUID, data: AnnotationPatch, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> Response[Annotation]:  # fmt: skip
        change = Change(annotation_ops.KIND, "update", item_id, user_id, device, data)
        return published(ctx, await ctx.changes.submit(change))

    @delete("/annotations/{item_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_annotation(
        self, item_id: UUID, ctx: AppContext, user_id: UUID, device: str | None = Device
    ) -> None:
        change = Change(annotation_ops.KIND, "delete", item_id, user_id, device)
        published(ctx, await ctx.changes.submit(change))

    @post("/highlights/{item_id:uuid}/restore", status_code=HTTP_200_OK)
    async def restore_highlight(
        self, item_id: UUID, ctx: AppContext, user_id: UUID, device: str | None = Device
    ) -> Response[Highlight]:
        change = Change(highlights.KIND, "restore", item_id, user_id, device)
        return published(ctx, await ctx.changes.submit(change))

    @post("/bookmarks/{item_id:uuid}/restore", status_code=HTTP_200_OK)
    async def restore_bookmark(
        self, item_id: UUID, ctx: AppContext, user_id: UUID, device: str | None = Device
    ) -> Response[Bookmark]:
        change = Change(bookmarks.KIND, "restore", item_id, user_id, device)
        return published(ctx, await ctx.changes.submit(change))

    @post("/annotations/{item_id:uuid}/restore", status_code=HTTP_200_OK)
    async def restore_annotation(
        self, item_id: UUID, ctx: AppContext, user_id: UUID, device: str | None = Device
    ) -> Response[Annotation]:
        change = Change(annotation_ops.KIND, "restore", item_id, user_id, device)
        return published(ctx, await ctx.changes.submit(change))

    @get("/highlights")
    async def all_highlights(
        self, conn: PooledConn, user_id: UUID, book_id: UUID | None = None,
        color: Color | None = None, category: Category | None = None,
        tag: str | None = Parameter(query="tag", default=None, min_length=1, max_length=50),
        public: bool | None = None, q: str | None = Words, cursor: str | None = None,
        limit: int = Limit,
    ) -> Response[Page[Highlight]]:  # fmt: skip
        where = HighlightFilter(
            book_id=book_id, color=color, category=category, tag=tag, public=public, q=q
        )
        return paged(*await across_books.list_highlights(
            conn, user_id, where, cursor=cursor, limit=check_limit(limit)
        ))  # fmt: skip

    @get("/bookmarks")
    async def all_bookmarks(
        self, conn: PooledConn, user_id: UUID, book_id: UUID | None = None,
        category: BookmarkCategory | None = None, q: str | None = Words,
        cursor: str | None = None, limit: int = Limit,
    ) -> Response[Page[Bookmark]]:  # fmt: skip
        where = BookmarkFilter(book_id=book_id, category=category, q=q)
        return paged(*await across_books.list_bookmarks(
            conn, user_id, where, cursor=cursor, limit=check_limit(limit)
        ))  # fmt: skip

    @get("/annotations")
    async def all_annotations(
        self, conn: PooledConn, user_id: UUID, book_id: UUID | None = None,
        kind: AnnotationType | None = Parameter(query="type", default=None),
        tag: str | None = Parameter(query="tag", default=None, min_length=1, max_length=50),
        public: bool | None = None, q: str | None = Words, cursor: str | None = None,
        limit: int = Limit,
    ) -> Response[Page[Annotation]]:  # fmt: skip
        where = AnnotationFilter(book_id=book_id, annotation_type=kind, tag=tag, public=public, q=q)
        return paged(*await across_books.list_annotations(
            conn, user_id, where, cursor=cursor, limit=check_limit(limit)
        ))  # fmt: skip
