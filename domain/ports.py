"""What the domain needs from the outside, as Protocols that `server/` implements."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import msgspec

if TYPE_CHECKING:
    from domain.ai.prompt import Prompt


class FileStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
        ...

    async def stream(self, key: str) -> AsyncIterator[bytes]:
        """The object's bytes in pieces, for objects too large to hold in memory;
        FileNotFoundError (from this call, before any piece) when there is none."""
        ...

    async def delete_prefix(self, prefix: str) -> None: ...


class Embedder(Protocol):
    """Turns text into vectors. Blocking (a model on the CPU, or an HTTP API): callers
    run it in a thread."""

    model_name: str
    dimensions: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Unit-length vectors for passages, in order."""
        ...

    def embed_query(self, text: str) -> list[float]: ...


class Usage(Protocol):
    """What the model reports once it has finished."""

    input_tokens: int
    output_tokens: int


class AnswerStream(Protocol):
    """One answer as it is written. Iterating yields pieces of text; once iteration
    ends normally the answer is complete. A failure upstream raises UpstreamError, also
    when the stream stops without its end (a cut connection). `usage` holds what the
    model reported, also of a failed answer when it got that far."""

    usage: Usage | None

    def __aiter__(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None:
        """Stop the upstream request (the reader cancelled or went away)."""
        ...


class Answerer(Protocol):
    """A language model, or the offline stand-in for one."""

    provider: str
    model: str

    def stream(self, prompt: Prompt) -> AnswerStream: ...

    def cost_usd(self, usage: Usage | None) -> Decimal: ...


class Mail(msgspec.Struct, frozen=True):
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, mail: Mail) -> None:
        """Deliver or raise; the caller decides what a failure means."""
        ...
