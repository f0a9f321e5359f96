"""An ask, from the question to the stored conversation (PROTOCOL.md §5).

`prepare` checks everything that can refuse the ask (the book, its state, the thread,
the highlight, the quota) and retrieves the sources, before any model is called.
`answer` streams the model's text as frames through `emit`, then stores the exchange
however it ended (completed, failed, cancelled) with its `ai.conversation` event."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import events as ev
from domain.ai import prompt as prompts
from domain.ai import quota
from domain.ai.live import LiveAnswer
from domain.ai.models import (
    AiConversation,
    AiError,
    AnswerFrame,
    AskParams,
    Citation,
    Completed,
    Delta,
    Source,
    Started,
)
from domain.ai.sql import Q
from domain.books.access import readable_book
from domain.books.search import Hit, search
from domain.errors import NotFound, NotReady, UpstreamError
from domain.events import Event, StoredEvent, append_events, user_channel
from domain.ports import Answerer, Embedder

log = logging.getLogger(__name__)

SOURCES = 6
Emit = Callable[[AnswerFrame], None]
Publish = Callable[[list[StoredEvent]], None]


@dataclass
class Prepared:
    request_id: Any
    user_id: UUID
    device: str | None
    params: AskParams
    conversation_id: UUID
    sources: list[Source]
    prompt: prompts.Prompt
    context_used: dict[str, Any]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started_clock: float = field(default_factory=time.perf_counter)


async def prepare(
    pool: asyncpg.Pool,
    embedder: Embedder,
    user_id: UUID,
    device: str | None,
    request_id: Any,
    params: AskParams,
) -> Prepared:
    started_at, started_clock = datetime.now(UTC), time.perf_counter()
    book_id = params.book_id
    async with pool.acquire() as conn:
        book = await readable_book(conn, book_id, user_id)
        if book.processing_status != "completed":
            raise NotReady(f"the book is not ready for questions ({book.processing_status})")
        author = await conn.fetchval("SELECT author FROM books WHERE id = $1", book_id)
        length = await conn.fetchval(Q.response_length, user_id)
        limit = None if params.spoilers else await conn.fetchval(Q.spoiler_limit, user_id, book_id)
        chapter = None
        if params.chapter_id is not None:
            row = await conn.fetchrow(
                Q.chapter_of_book, params.chapter_id, book_id, prompts.CHAPTER_CHARS
            )
            if row is None:
                raise NotFound("no such chapter in this book", field="chapter_id")
            chapter = dict(row)
            if limit is not None:  # the chapter only up to where the reader is
                chapter["content"] = chapter["content"][: max(0, limit - row["start_offset"])]
        earlier = None
        if params.conversation_id is not None:
            earlier = await conn.fetchrow(Q.earlier_turn, params.conversation_id, user_id, book_id)
            if earlier is None:
                raise NotFound("no such conversation", field="conversation_id")
        attached = params.attached_text
        if params.highlight_id is not None:
            highlight = await conn.fetchrow(Q.own_highlight, params.highlight_id, user_id, book_id)
            if highlight is None:
                raise NotFound("no such highlight", field="highlight_id")
            attached = attached or highlight["selected_text"]
        await quota.take(conn, user_id)
        query = params.question if not attached else f"{params.question}\n{attached[:500]}"
        try:
            hits = await search(conn, embedder, user_id, book_id, query[:1000], SOURCES,
                                before_offset=limit)  # fmt: skip
        except BaseException:
            await quota.give_back(conn, user_id)
            raise
    prompt = prompts.build(
        book_title=book.title, author=author, feature=params.feature,
        question=params.question, passages=hits, attached_text=attached, chapter=chapter,
        history=prompts.thread(dict(earlier) if earlier else None),
        spoiler_safe=limit is not None, length=length,
    )  # fmt: skip
    return Prepared(
        request_id=request_id, user_id=user_id, device=device, params=params,
        conversation_id=uuid.uuid4(), sources=[_source(h) for h in hits], prompt=prompt,
        context_used={"spoiler_limit": limit, "chapter_id": params.chapter_id,
                      "highlight_id": params.highlight_id,
                      "passages": [{"chunk_id": str(h.chunk_id), "text": h.text} for h in hits]},
        started_at=started_at, started_clock=started_clock,
    )  # fmt: skip


def _source(hit: Hit) -> Source:
    return Source(
        chunk_id=hit.chunk_id, chapter_title=hit.chapter_title, start_page=hit.start_page,
        end_page=hit.end_page, start_offset=hit.start_offset, end_offset=hit.end_offset,
        score=round(hit.score, 6),
    )  # fmt: skip


@dataclass
class _Outcome:
    status: str = "completed"
    error: UpstreamError | None = None
    parts: list[str] = field(default_factory=list)


async def answer(
    pool: asyncpg.Pool,
    answerer: Answerer,
    ask: Prepared,
    emit: Emit,
    publish: Publish,
    live: LiveAnswer | None = None,
) -> AiConversation:
    """Stream the answer, then store it and return what was stored. Cancelling the task
    that runs this (ai.cancel, or the reader went away) stops the upstream request; what
    was written is stored."""
    rid = ask.request_id
    emit(Started(id=rid, conversation_id=ask.conversation_id, sources=ask.sources))
    stream = answerer.stream(ask.prompt)
    outcome = _Outcome()
    try:
        # each piece goes out the moment it arrives: no task or queue in between, so
        # the server adds as little as it can to every token
        async for piece in stream:
            if piece:
                emit(Delta(id=rid, index=len(outcome.parts), text=piece))
                outcome.parts.append(piece)
                if live is not None:
                    live.delta(piece)
    except UpstreamError as exc:
        outcome.status, outcome.error = "failed", exc
    except asyncio.CancelledError:
        outcome.status = "cancelled"
    except Exception:
        log.exception("answer %s failed", ask.conversation_id)
        outcome.status = "failed"
        outcome.error = UpstreamError("the answer failed on our side; please ask again")
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()
    # the exchange is stored whatever happened, even while this task is being cancelled
    stored = await asyncio.shield(_finish(pool, answerer, ask, outcome, stream.usage, publish))
    final = final_frame(stored, outcome.error)
    emit(_with_id(final, rid))
    if live is not None:
        live.finish(final)
    return stored


def _with_id(frame: Completed | AiError, request_id: Any) -> Completed | AiError:
    return msgspec.structs.replace(frame, id=request_id)


async def _finish(
    pool: asyncpg.Pool,
    answerer: Answerer,
    ask: Prepared,
    outcome: _Outcome,
    usage: Any,
    publish: Publish,
) -> AiConversation:
    text = "".join(outcome.parts)
    elapsed_ms = int((time.perf_counter() - ask.started_clock) * 1000)
    tokens = (usage.input_tokens + usage.output_tokens) if usage is not None else 0
    cost: Decimal = answerer.cost_usd(usage)
    cited = prompts.citations(text, ask.sources)
    params = ask.params
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            Q.insert_conversation, ask.conversation_id, ask.user_id, params.book_id,
            params.chapter_id if params.chapter_id else None, params.question, text,
            ask.context_used, ask.prompt.attached_text, answerer.provider, answerer.model,
            elapsed_ms, tokens, cost,
            [msgspec.to_builtins(c) for c in cited], ask.prompt.history, params.question,
            params.feature,
            {"device": ask.device, "error": outcome.error.message if outcome.error else None},
            outcome.status, ask.started_at,
        )  # fmt: skip
        if outcome.status == "completed" and params.feature == "explain" and params.highlight_id:
            await conn.execute(Q.store_explanation, params.highlight_id, ask.user_id, text)
        # a failure before the first word is not counted; a cancelled ask is: its prompt
        # went to the model, which is paid for the input whether or not words came back
        if outcome.status == "failed" and not text:
            await quota.give_back(conn, ask.user_id)
        conversation = conversation_from_row(row)
        own = user_channel(ask.user_id)
        stored = await append_events(
            conn,
            [Event(own, ev.AI_CONVERSATION, conversation),
             Event(own, ev.QUOTA_UPDATED, await quota.today(conn, ask.user_id))],
            ask.device,
        )  # fmt: skip
    publish(stored)
    return conversation


def conversation_from_row(row: Any) -> AiConversation:
    return msgspec.convert(dict(row), AiConversation)


def final_frame(c: AiConversation, error: UpstreamError | None = None) -> Completed | AiError:
    """The frame that ends a stream, also for one stored earlier (attach after the end)."""
    if c.status == "completed":
        return Completed(
            id=None, conversation_id=c.id, answer=c.answer, model=c.model_used or "",
            tokens_used=c.tokens_used or 0, cost_usd=c.cost_usd or Decimal(0),
            response_time_ms=c.response_time_ms or 0,
            citations=[msgspec.convert(x, Citation) for x in c.sources_referenced],
        )  # fmt: skip
    if c.status == "cancelled":
        return AiError(id=None, code="cancelled", message="the answer was cancelled",
                       conversation_id=c.id)  # fmt: skip
    message = error.message if error else "the model failed while answering"
    return AiError(id=None, code="upstream_error", message=message, conversation_id=c.id)
