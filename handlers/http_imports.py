"""Imports of highlights from Kindle, KOReader and Readwise into a book (issue 17):
`POST /books/{id}/imports` queues one (202), `GET /imports/{id}` follows it; progress
and the report also reach the reader's devices as `import.progress` and
`import.finished` on their channel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.status_codes import HTTP_202_ACCEPTED

from domain.errors import Invalid, TooLarge
from domain.imports import operations as imports
from domain.imports.formats import FORMATS
from domain.imports.models import ImportJob, LibraryImport
from handlers.deps import PooledConn
from workers.imports import import_task


@dataclass
class ImportForm:
    file: UploadFile
    format: str | None = None  # clippings, koreader, readwise; detected when absent


async def _content(data: ImportForm) -> bytes:
    if data.format is not None and data.format not in FORMATS:
        raise Invalid(f"format is one of {', '.join(FORMATS)}", field="format")
    content = await data.file.read(imports.MAX_IMPORT_BYTES + 1)
    if len(content) > imports.MAX_IMPORT_BYTES:
        raise TooLarge("an import file is at most 10 MiB")
    return content


class ImportsController(Controller):
    tags = ["imports"]

    @post("/books/{book_id:uuid}/imports", status_code=HTTP_202_ACCEPTED)
    async def start_import(
        self,
        book_id: UUID,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        conn: PooledConn,
        user_id: UUID,
    ) -> ImportJob:
        content = await _content(data)
        job = await imports.start(conn, user_id, book_id, content, data.file.filename,
                                  data.format or None)  # fmt: skip
        await import_task.kiq(str(job.id))
        return job

    @post("/imports", status_code=HTTP_202_ACCEPTED)
    async def import_into_library(
        self,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        conn: PooledConn,
        user_id: UUID,
    ) -> LibraryImport:
        """A whole file (several books): an import into each book of the library it names."""
        content = await _content(data)
        made = await imports.start_library(conn, user_id, content, data.file.filename,
                                           data.format or None)  # fmt: skip
        for job in made.imports:
            await import_task.kiq(str(job.id))
        return made

    @get("/imports/{import_id:uuid}")
    async def get_import(self, import_id: UUID, conn: PooledConn, user_id: UUID) -> ImportJob:
        return await imports.get(conn, user_id, import_id)


def imports_router() -> Router:
    # the file may be larger than the JSON limit every other route keeps
    return Router(path="/", route_handlers=[ImportsController],
                  request_max_body_size=imports.MAX_IMPORT_BYTES + 1024 * 1024)  # fmt: skip
