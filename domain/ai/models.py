"""What an ask is made of and the frames of its answer (PROTOCOL.md §5)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType

Feature = Literal["chat", "explain", "summarize", "define"]
Question = Annotated[str, Meta(min_length=3, max_length=1000)]
Attached = Annotated[str, Meta(max_length=2000)]


class AskBody(Struct, kw_only=True, forbid_unknown_fields=True):
    """An ask over HTTP (`POST /books/{id}/ask`); the book is in the path."""

    question: Question
    feature: Feature = "chat"
    attached_text: Attached | None = None
    chapter_id: UUID | None = None
    conversation_id: UUID | None = None
    highlight_id: UUID | None = None
    spoilers: bool = False


class AskParams(AskBody, kw_only=True, forbid_unknown_fields=True):
    """An ask, over the WebSocket (with `type` and `id`) or HTTP."""

    book_id: UUID


class Source(Struct, kw_only=True):
    chunk_id: UUID
    chapter_title: str | None
    start_page: int | None
    end_page: int | None
    start_offset: int
    end_offset: int
    score: float


class Citation(Struct, kw_only=True):
    source: int
    chunk_id: UUID


# -- frames back, each with the request id ----------------------------------------------


class Started(Struct, tag="ai.started", tag_field="type", kw_only=True):
    id: Any
    conversation_id: UUID
    sources: list[Source]


class Delta(Struct, tag="ai.delta", tag_field="type", kw_only=True):
    id: Any
    index: int
    text: str


class Completed(Struct, tag="ai.completed", tag_field="type", kw_only=True):
    id: Any
    conversation_id: UUID
    answer: str
    model: str
    tokens_used: int
    cost_usd: Decimal
    response_time_ms: int
    citations: list[Citation]


AiErrorCode = Literal["quota_exceeded", "not_ready", "upstream_error", "cancelled", "bad_request"]


class AiError(Struct, tag="ai.error", tag_field="type", kw_only=True):
    id: Any
    code: AiErrorCode
    message: str
    conversation_id: UUID | None = None


AnswerFrame = Started | Delta | Completed | AiError


class Streaming(Struct, kw_only=True):
    """Ephemeral `ai.streaming`: an answer other devices may attach to."""

    conversation_id: UUID
    book_id: UUID
    question: str


class AiConversation(Struct, kw_only=True):
    id: UUID
    book_id: UUID
    book_chapter_id: UUID | None
    question: str
    answer: str
    attached_text: str | None
    feature_used: str | None
    trigger_type: str | None
    status: str
    ai_provider: str | None
    model_used: str | None
    tokens_used: int | None
    cost_usd: Decimal | None
    response_time_ms: int | None
    sources_referenced: list[Any]
    context_used: dict[str, Any]
    conversation_history: list[Any]
    user_rating: int | None
    user_feedback: str | None
    marked_helpful: bool
    created_at: datetime
    updated_at: datetime


class ConversationPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    user_rating: Annotated[int, Meta(ge=1, le=5)] | UnsetType | None = UNSET
    user_feedback: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    marked_helpful: bool | UnsetType | None = UNSET
