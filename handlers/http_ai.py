"""AI over HTTP (PROTOCOL.md §3 AI history, §5): the same answer stream as server-sent
events, and the stored conversations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import msgspec
from litestar import Controller, get, patch, post
from litestar.response import ServerSentEvent, ServerSentEventMessage

from domain.ai import conversations
from domain.ai.ask import prepare
from domain.ai.models import (
    AiConversation,
    AiError,
    AnswerFrame,
    AskBody,
    AskParams,
    Completed,
    ConversationPatch,
)
from domain.pagination import DEFAULT_LIMIT, Page, check_limit
from handlers.deps import PooledConn
from handlers.http_reading import Device
from handlers.protocol import encode
from server.context import AppContext


class AiController(Controller):
    tags = ["ai"]

    @post("/books/{book_id:uuid}/ask", status_code=200)
    async def ask(
        self, book_id: UUID, data: AskBody, ctx: AppContext, user_id: UUID,
        device: str | None = Device,
    ) -> ServerSentEvent:  # fmt: skip
        """Everything that can refuse the ask answers with an HTTP error before the stream
        starts; then the frames of §5 follow as events named by their `type`. Closing the
        connection cancels the answer (what was written is stored)."""
        params = msgspec.convert({**msgspec.structs.asdict(data), "book_id": book_id}, AskParams)
        prepared = await prepare(ctx.pool, ctx.embedder, user_id, device, None, params)
        frames: asyncio.Queue[AnswerFrame] = asyncio.Queue()
        task = await ctx.live_answers.run(prepared, frames.put_nowait)

        async def events() -> AsyncIterator[ServerSentEventMessage]:
            try:
                while True:
                    frame = await frames.get()
                    kind = type(frame).__struct_config__.tag
                    yield ServerSentEventMessage(data=encode(frame), event=str(kind))
                    if isinstance(frame, Completed | AiError):
                        return
            finally:
                if not task.done():
                    task.cancel()
                    await asyncio.wait([task])

        return ServerSentEvent(events(), headers={"Cache-Control": "no-store"})

    @get("/books/{book_id:uuid}/conversations")
    async def list_conversations(
        self, book_id: UUID, conn: PooledConn, user_id: UUID,
        cursor: str | None = None, limit: int = DEFAULT_LIMIT,
    ) -> Page[AiConversation]:  # fmt: skip
        return await conversations.list_for_book(conn, user_id, book_id, cursor, check_limit(limit))

    @get("/conversations/{conversation_id:uuid}")
    async def get_conversation(
        self, conversation_id: UUID, conn: PooledConn, user_id: UUID
    ) -> AiConversation:
        return await conversations.get(conn, user_id, conversation_id)

    @patch("/conversations/{conversation_id:uuid}")
    async def rate_conversation(
        self, conversation_id: UUID, data: ConversationPatch, conn: PooledConn, user_id: UUID
    ) -> AiConversation:
        return await conversations.rate(conn, user_id, conversation_id, data)
