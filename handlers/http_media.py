"""Annotation media over HTTP: a voice note's recording and an annotation's picture, up
and down. Uploads are multipart (`file`), under their own body limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, Router, get, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from domain.reading import media
from domain.reading.models import Annotation
from handlers.deps import PooledConn
from handlers.http_reading import Device, published
from server.context import AppContext


@dataclass
class MediaForm:
    file: UploadFile


Multipart = Body(media_type=RequestEncodingType.MULTI_PART)


class MediaController(Controller):
    path = "/annotations/{annotation_id:uuid}"
    tags = ["reading"]

    @put("/audio")
    async def put_audio(
        self, annotation_id: UUID, data: Annotated[MediaForm, Multipart], ctx: AppContext,
        conn: PooledConn, user_id: UUID, device: str | None = Device,
    ) -> Response[Annotation]:  # fmt: skip
        content = await data.file.read()
        return published(ctx, await media.attach_audio(
            conn, ctx.files, user_id, annotation_id, content, device))  # fmt: skip

    @put("/image")
    async def put_image(
        self, annotation_id: UUID, data: Annotated[MediaForm, Multipart], ctx: AppContext,
        conn: PooledConn, user_id: UUID, device: str | None = Device,
    ) -> Response[Annotation]:  # fmt: skip
        content = await data.file.read()
        return published(ctx, await media.attach_image(
            conn, ctx.files, user_id, annotation_id, content, device))  # fmt: skip

    @get("/audio")
    async def get_audio(
        self, annotation_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> Response[bytes]:
        return await _served(ctx, conn, user_id, annotation_id, "audio")

    @get("/image")
    async def get_image(
        self, annotation_id: UUID, ctx: AppContext, conn: PooledConn, user_id: UUID
    ) -> Response[bytes]:
        return await _served(ctx, conn, user_id, annotation_id, "image")


async def _served(
    ctx: AppContext, conn: PooledConn, user_id: UUID, annotation_id: UUID, kind: str
) -> Response[bytes]:
    content, media_type = await media.media(conn, ctx.files, user_id, annotation_id, kind)
    # private: another reader may lose the right to it (the annotation made private)
    return Response(content, media_type=media_type, headers={"Cache-Control": "private, no-cache"})


def media_router() -> Router:
    # a recording or a picture is larger than the JSON limit every other route keeps
    limit = max(media.MAX_AUDIO_BYTES, media.MAX_IMAGE_BYTES) + 1024 * 1024
    return Router(path="/", route_handlers=[MediaController], request_max_body_size=limit)
