"""The Anthropic Messages API through the official SDK's async streaming client.

`ANTHROPIC_BASE_URL` is honoured (the tests point it at a local stand-in that speaks the
streaming protocol). Every upstream failure (an error status, a rate limit, a timeout,
a dropped connection, a stream that stops without `message_stop`) becomes UpstreamError
with a message for the reader."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import Any

import anthropic
from anthropic.types import (
    RawContentBlockDeltaEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    TextDelta,
)

from domain.ai.prompt import Prompt
from domain.errors import UpstreamError
from domain.ports import Usage
from server.answerers.stream import PieceStream
from server.settings import Settings

# USD per million tokens (input, output) by model-name prefix, the longest prefix wins;
# from Anthropic's pricing pages as of 2026-11 (Haiku 5.5: its band for prompts up to
# 100k tokens, which is every prompt we send). A model missing here is logged and
# costed at 0.
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "claude-fable-5": (Decimal(10), Decimal(50)),
    "claude-opus-5-5": (Decimal(4), Decimal(20)),
    "claude-opus-5": (Decimal(5), Decimal(25)),
    "claude-sonnet-5": (Decimal(2), Decimal(10)),
    "claude-haiku-5-5": (Decimal("0.10"), Decimal("0.50")),
    "claude-opus-4-5": (Decimal(5), Decimal(25)),
    "claude-opus-4": (Decimal(15), Decimal(75)),
    "claude-sonnet-4": (Decimal(3), Decimal(15)),
    "claude-haiku-4-5": (Decimal(1), Decimal(5)),
    "claude-3-7-sonnet": (Decimal(3), Decimal(15)),
    "claude-3-5-sonnet": (Decimal(3), Decimal(15)),
    "claude-3-5-haiku": (Decimal("0.8"), Decimal(4)),
}
MILLION = Decimal(1_000_000)


def price_of(model: str) -> tuple[Decimal, Decimal] | None:
    matches = [p for p in PRICES if model.startswith(p)]
    return PRICES[max(matches, key=len)] if matches else None


log = logging.getLogger(__name__)


class AnthropicAnswerer:
    provider = "anthropic"

    def __init__(self, settings: Settings) -> None:
        self.model = settings.anthropic_model
        self._client = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key,
            base_url=settings.anthropic_base_url,
            # a stalled stream fails after this long without a byte; the reader retries
            timeout=settings.anthropic_timeout_s,
            max_retries=0,  # a retry would stall the reader's stream; they can ask again
        )

    def stream(self, prompt: Prompt) -> _Stream:
        return _Stream(self._client, self.model, prompt)

    def cost_usd(self, usage: Usage | None) -> Decimal:
        price = price_of(self.model)
        if price is None:
            log.warning("no price on file for model %s: its cost is recorded as 0", self.model)
        if usage is None or price is None:
            return Decimal(0)
        cost = (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / MILLION
        return cost.quantize(Decimal("0.000001"))


class _Usage:
    """Tokens as the API reports them: input at the start, output as it goes."""

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0


class _Stream(PieceStream):
    def __init__(self, client: anthropic.AsyncAnthropic, model: str, prompt: Prompt) -> None:
        super().__init__()
        self._client = client
        self._model = model
        self._prompt = prompt

    async def _run(self) -> AsyncGenerator[str, None]:
        try:
            # closing this stream closes the request at once, not when collected
            async with contextlib.aclosing(self._texts()) as texts:
                async for text in texts:
                    yield text
        except anthropic.RateLimitError:
            raise UpstreamError("the model is busy (rate limited); try again shortly") from None
        except anthropic.APITimeoutError:
            raise UpstreamError("the model took too long to answer; try again") from None
        except anthropic.APIStatusError as exc:
            raise UpstreamError(f"the model's service failed (HTTP {exc.status_code})") from None
        except anthropic.APIConnectionError:
            raise UpstreamError("the model's service could not be reached") from None
        except anthropic.APIError as exc:  # an `error` event in the middle of the stream
            raise UpstreamError(f"the model's service failed ({exc.message})") from None

    async def _texts(self) -> AsyncGenerator[str, None]:
        # the raw event stream (`create(stream=True)`), not `messages.stream()`: that
        # helper rebuilds a snapshot of the whole message at every event, which cost
        # most of the server's time per token with 100 answers streaming
        prompt = self._prompt
        messages: Any = prompt.messages
        usage = _Usage()
        self.usage = usage
        stream = await self._client.messages.create(
            model=self._model, system=prompt.system, messages=messages,
            max_tokens=prompt.max_tokens, stream=True,
        )  # fmt: skip
        finished = False
        async with stream:
            async for event in stream:
                if isinstance(event, RawContentBlockDeltaEvent):
                    if isinstance(event.delta, TextDelta):
                        yield event.delta.text
                elif isinstance(event, RawMessageStartEvent):
                    usage.input_tokens = event.message.usage.input_tokens
                    usage.output_tokens = event.message.usage.output_tokens
                elif isinstance(event, RawMessageDeltaEvent):
                    usage.output_tokens = event.usage.output_tokens
                elif isinstance(event, RawMessageStopEvent):
                    finished = True
        if not finished:  # the SDK ends quietly when the connection is cut
            raise UpstreamError("the model's answer was cut off; please ask again")
