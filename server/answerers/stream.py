"""What both answerers' streams share: iterate once over an async generator of pieces,
which `aclose` stops (closing the upstream request with it)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator

from domain.ports import Usage


class PieceStream(ABC):
    usage: Usage | None = None

    def __init__(self) -> None:
        self._pieces: AsyncGenerator[str, None] | None = None

    def __aiter__(self) -> AsyncIterator[str]:
        if self._pieces is None:
            self._pieces = self._run()
        return self._pieces

    async def aclose(self) -> None:
        if self._pieces is not None:
            await self._pieces.aclose()

    @abstractmethod
    def _run(self) -> AsyncGenerator[str, None]:
        """The answer's pieces of text (each answerer writes its own)."""
