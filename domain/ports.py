"""What the domain needs from the outside, as Protocols that `server/` implements."""

from __future__ import annotations

from typing import Protocol


class FileStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError when there is none."""
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
