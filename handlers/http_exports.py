"""Exports of the reader's highlights, notes and bookmarks (issue 17): one book's, or
everything they marked, as Markdown, Readwise CSV, W3C Web Annotations or Kindle
clippings (domain/exports/formats.py says what each holds); and their whole account as
a streamed ZIP (domain/exports/archive.py)."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import Parameter
from litestar.response import Stream

from domain.exports import operations as exports
from domain.exports.archive import archive
from handlers.deps import PooledConn
from handlers.http_books import attachment
from server.context import AppContext

Format = Literal["markdown", "readwise", "annotation", "clippings"]
# everything of the reader's: only for their whole account
AccountFormat = Literal["markdown", "readwise", "annotation", "clippings", "zip"]


def _file(kind: str, text: str, name: str) -> Response[bytes]:
    media_type, extension = exports.FORMATS[kind]
    filename = f"{name} - highlights.{extension}" if kind != "clippings" else "My Clippings.txt"
    return Response(text.encode(), media_type=media_type,
                    headers={"Content-Disposition": attachment(filename)})  # fmt: skip


class ExportsController(Controller):
    tags = ["exports"]

    @get("/books/{book_id:uuid}/export")
    async def book_export(
        self, book_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID,
        kind: Format = Parameter(query="format", default="markdown"),
    ) -> Response[bytes]:  # fmt: skip
        books = await exports.gather(conn, user_id, book_id)
        text = exports.render(kind, books, ctx.settings.public_base_url, library=False)
        return _file(kind, text, books[0].title if books else "book")

    @get("/users/me/export")
    async def my_export(
        self, ctx: AppContext, conn: PooledConn, user_id: UUID,
        kind: AccountFormat = Parameter(query="format", default="markdown"),
    ) -> Response[bytes] | Stream:  # fmt: skip
        if kind == "zip":
            saved = {"Content-Disposition": attachment("BookMind export.zip")}
            return Stream(archive(ctx.pool, ctx.files, user_id), media_type="application/zip",
                          headers=saved)  # fmt: skip
        books = await exports.gather(conn, user_id, None)
        text = exports.render(kind, books, ctx.settings.public_base_url, library=True)
        return _file(kind, text, "BookMind")
