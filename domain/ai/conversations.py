"""A reader's stored AI conversations: list them per book, rate them."""

from __future__ import annotations

from uuid import UUID

from domain.ai.ask import conversation_from_row
from domain.ai.models import AiConversation, ConversationPatch
from domain.ai.sql import Q
from domain.books.access import readable_book
from domain.errors import NotFound
from domain.pagination import Page, decode_cursor, page_of
from domain.patches import patch_fields
from domain.sql import Conn


async def list_for_book(
    conn: Conn, user_id: UUID, book_id: UUID, cursor: str | None, limit: int
) -> Page[AiConversation]:
    await readable_book(conn, book_id, user_id)
    after = decode_cursor(cursor)
    rows = await conn.fetch(
        Q.list_conversations, user_id, book_id, after[0] if after else None,
        after[1] if after else None, limit + 1,
    )  # fmt: skip
    return page_of([conversation_from_row(r) for r in rows], limit, lambda c: (c.created_at, c.id))


async def get(conn: Conn, user_id: UUID, conversation_id: UUID) -> AiConversation:
    row = await conn.fetchrow(Q.get_conversation, conversation_id, user_id)
    if row is None:
        raise NotFound("no such conversation")
    return conversation_from_row(row)


async def rate(
    conn: Conn, user_id: UUID, conversation_id: UUID, patch: ConversationPatch
) -> AiConversation:
    given, value = patch_fields(patch)
    fields = [x for name in ("user_rating", "user_feedback", "marked_helpful")
              for x in (given(name), value(name))]  # fmt: skip
    if given("marked_helpful") and value("marked_helpful") is None:
        fields[5] = False
    row = await conn.fetchrow(Q.patch_conversation, conversation_id, user_id, *fields)
    if row is None:
        raise NotFound("no such conversation")
    return conversation_from_row(row)
