"""Books over HTTP (PROTOCOL.md §3 books, book content): upload, list, read, change,
delete, the original file and the chapters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from domain.books import library
from domain.books import operations as books
from domain.books.library import LibraryFilter, Rating, RatingSet, Scope, Sort, Status
from domain.books.models import Book, BookPatch, ChapterContent, ChapterSummary
from domain.books.operations import CONTENT_TYPES
from domain.books.search import BookHits, Hit, search_library
from domain.books.search import search as search_book
from domain.errors import Invalid, NotFound
from domain.pagination import DEFAULT_LIMIT, Page, check_limit
from domain.sql import Conn
from domain.stats.models import BookStats
from domain.stats.operations import book_stats
from handlers.deps import PooledConn
from handlers.http_reading import event_seq_header
from server.context import AppContext
from workers.ingest import ingest_task

# as long as a file name gets on common file systems; it is stored and sent back
MAX_FILENAME_CHARS = 255


@dataclass
class UploadForm:
    file: UploadFile
    title: str | None = None
    author: str | None = None
    visibility: str = "private"


async def _book_file(file: UploadFile) -> bytes:
    """An uploaded book's bytes (its name checked first)."""
    if file.filename and len(file.filename) > MAX_FILENAME_CHARS:
        raise Invalid(f"the file's name is over {MAX_FILENAME_CHARS} characters", field="file")
    return await file.read()


async def _stored(ctx: AppContext, key: str, missing: str) -> bytes:
    """A stored object's bytes; 404 with `missing` when storage has none."""
    try:
        return await ctx.files.get(key)
    except FileNotFoundError:
        raise NotFound(missing) from None


def attachment(filename: str) -> str:
    """A Content-Disposition naming the file for every client (RFC 6266): an ASCII
    fallback in `filename`, the real name percent-encoded as UTF-8 in `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def file_stream(ctx: AppContext, conn: Conn, user_id: UUID, book_id: UUID) -> Stream:
    """A readable book's original file, streamed (also OPDS's acquisition link)."""
    book = await books.get(conn, user_id, book_id)
    if book.file_type is None:
        raise NotFound("this book has no file")
    try:
        pieces = await ctx.files.stream(books.file_key(book.id, book.file_type))
    except FileNotFoundError:
        raise NotFound("the file is gone") from None
    headers = {
        "Content-Disposition": attachment(book.original_filename or f"book.{book.file_type}")
    }
    if book.file_size is not None:
        headers["Content-Length"] = str(book.file_size)
    return Stream(pieces, media_type=CONTENT_TYPES[book.file_type], headers=headers)


async def cover_image(ctx: AppContext, conn: Conn, user_id: UUID, book_id: UUID) -> Response[bytes]:
    book = await books.get(conn, user_id, book_id)
    if book.cover_image_url is None:
        raise NotFound("this book has no cover")
    image = await _stored(ctx, books.cover_key(book.id), "this book has no cover")
    return Response(image, media_type="image/jpeg")


class BookUploadController(Controller):
    """`POST /books` alone: the one route whose body may be large (create_app gives it
    the upload limit; every other route keeps the small JSON one)."""

    path = "/books"
    tags = ["books"]

    @post("/", status_code=HTTP_202_ACCEPTED)
    async def upload(
        self,
        data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        ctx: AppContext,
        conn: PooledConn,
        user_id: UUID,
    ) -> Book:
        if data.visibility not in {"private", "public"}:
            raise Invalid("visibility is private or public", field="visibility")
        for name in ("title", "author"):
            value = getattr(data, name)
            if value is not None and not 1 <= len(value) <= 500:
                raise Invalid(f"{name} must be 1 to 500 characters", field=name)
        content = await _book_file(data.file)
        written = await books.upload(
            conn, ctx.files, user_id, content, filename=data.file.filename, title=data.title,
            author=data.author, visibility=data.visibility,
            max_bytes=ctx.settings.max_upload_bytes, per_hour=ctx.settings.uploads_per_hour,
        )  # fmt: skip
        ctx.hub.publish(written.events)
        await ingest_task.kiq(str(written.value.id))
        return written.value

    @put("/{book_id:uuid}/file", status_code=HTTP_202_ACCEPTED)
    async def replace_file(
        self,
        book_id: UUID,
        data: Annotated[ReplaceForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        ctx: AppContext,
        conn: PooledConn,
        user_id: UUID,
    ) -> Book:
        """Another edition of the book: read again, every reader's marks re-placed."""
        content = await _book_file(data.file)
        written = await books.replace_file(
            conn, ctx.files, user_id, book_id, content, filename=data.file.filename,
            max_bytes=ctx.settings.max_upload_bytes, per_hour=ctx.settings.uploads_per_hour,
        )  # fmt: skip
        ctx.hub.publish(written.events)
        await ingest_task.kiq(str(book_id))
        return written.value


@dataclass
class ReplaceForm:
    file: UploadFile


class BooksController(Controller):
    path = "/books"
    tags = ["books"]

    @get("/")
    async def list_books(
        self, conn: PooledConn, user_id: UUID, cursor: str | None = None,
        limit: int = Parameter(query="limit", default=DEFAULT_LIMIT),
        # `scope` itself would be Litestar's ASGI scope
        shelf: Scope = Parameter(query="scope", default="all"),
        sort: Sort = "recent", status: Status | None = None,
        q: str | None = Parameter(query="q", default=None, max_length=200),
        genre: str | None = Parameter(query="genre", default=None, max_length=200),
        difficulty: int | None = Parameter(query="difficulty", default=None, ge=1, le=10),
    ) -> Response[Page[Book]]:  # fmt: skip
        where = LibraryFilter(
            scope=shelf, q=q, genre=genre, difficulty=difficulty, status=status, sort=sort
        )
        page, heads = await library.list_library(
            conn, user_id, where, cursor=cursor, limit=check_limit(limit)
        )
        return Response(page, headers=event_seq_header(heads))

    @get("/{book_id:uuid}")
    async def get_book(self, book_id: UUID, conn: PooledConn, user_id: UUID) -> Book:
        return await books.get(conn, user_id, book_id)

    @patch("/{book_id:uuid}")
    async def update_book(
        self, book_id: UUID, data: BookPatch, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> Book:
        change = await books.update(conn, user_id, book_id, data)
        if change.closed:
            ctx.hub.close_book(book_id, user_id)
        return change.book

    @delete("/{book_id:uuid}", status_code=HTTP_204_NO_CONTENT)
    async def delete_book(
        self, book_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> None:
        written = await books.delete(conn, ctx.files, user_id, book_id)
        ctx.hub.publish(written.events)
        ctx.hub.close_book(book_id, user_id)  # nothing more of it reaches other readers

    @get("/{book_id:uuid}/rating")
    async def my_rating(self, book_id: UUID, conn: PooledConn, user_id: UUID) -> Rating:
        return await library.rating(conn, user_id, book_id)

    @put("/{book_id:uuid}/rating")
    async def rate(self, book_id: UUID, data: RatingSet, conn: PooledConn, user_id: UUID) -> Rating:
        return await library.rate(conn, user_id, book_id, data)

    @delete("/{book_id:uuid}/rating", status_code=HTTP_204_NO_CONTENT)
    async def unrate(self, book_id: UUID, conn: PooledConn, user_id: UUID) -> None:
        await library.unrate(conn, user_id, book_id)

    @get("/{book_id:uuid}/file")
    async def original_file(
        self, book_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> Stream:
        return await file_stream(ctx, conn, user_id, book_id)

    @get("/{book_id:uuid}/cover")
    async def cover(
        self, book_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> Response[bytes]:
        return await cover_image(ctx, conn, user_id, book_id)

    @get("/{book_id:uuid}/search")
    async def search(
        self, book_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID,
        q: str = Parameter(query="q", min_length=1, max_length=1000),
        k: int = Parameter(query="k", default=10, ge=1, le=50),
    ) -> dict[str, list[Hit]]:  # fmt: skip
        return {"items": await search_book(conn, ctx.embedder, user_id, book_id, q, k)}

    @get("/{book_id:uuid}/stats")
    async def stats(self, book_id: UUID, conn: PooledConn, user_id: UUID) -> BookStats:
        return await book_stats(conn, user_id, book_id)

    @get("/{book_id:uuid}/chapters")
    async def chapters(
        self, book_id: UUID, conn: PooledConn, user_id: UUID
    ) -> dict[str, list[ChapterSummary]]:
        return {"items": await books.chapters(conn, user_id, book_id)}

    @get("/{book_id:uuid}/chapters/{number:int}")
    async def chapter(
        self, book_id: UUID, conn: PooledConn, user_id: UUID,
        number: int = Parameter(ge=1, le=1_000_000),
    ) -> ChapterContent:  # fmt: skip
        return await books.chapter(conn, user_id, book_id, number)


@get("/search")
async def library_search(
    ctx: AppContext, conn: PooledConn, user_id: UUID,
    q: str = Parameter(query="q", min_length=1, max_length=1000),
    k: int = Parameter(query="k", default=10, ge=1, le=50),
) -> dict[str, list[BookHits]]:  # fmt: skip
    """Passages across the reader's own books and the public ones they have opened,
    grouped by book."""
    return {"items": await search_library(conn, ctx.embedder, user_id, q, k)}
