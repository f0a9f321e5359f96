"""Notifications over HTTP: the reader's list, and marking them read."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.status_codes import HTTP_200_OK

from domain.notifications import operations as notifications
from domain.notifications.operations import MarkRead, Notification, Unread
from domain.pagination import DEFAULT_LIMIT, Page, check_limit
from handlers.deps import PooledConn
from handlers.http_reading import user_paged


class NotificationsController(Controller):
    path = "/notifications"
    tags = ["notifications"]

    @get("/")
    async def listing(
        self, conn: PooledConn, user_id: UUID, unread: bool = False, cursor: str | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> Response[Page[Notification]]:  # fmt: skip
        limit = check_limit(limit)
        return await user_paged(conn, user_id, lambda: notifications.listing(
            conn, user_id, unread_only=unread, cursor=cursor, limit=limit))  # fmt: skip

    @post("/read", status_code=HTTP_200_OK)
    async def mark_read(self, data: MarkRead, conn: PooledConn, user_id: UUID) -> Unread:
        return await notifications.mark_read(conn, user_id, data)
