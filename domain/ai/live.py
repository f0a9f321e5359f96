"""An answer being written right now, so another device (or the same app after a reload)
can attach: it gets the text so far as one `ai.delta`, then the rest live, then the end
frame, all under its own request id."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec

from domain.ai.models import AiError, AnswerFrame, Completed, Delta

Push = Callable[[AnswerFrame], None]


@dataclass
class _Listener:
    request_id: Any
    push: Push
    index: int = 0


@dataclass
class LiveAnswer:
    conversation_id: UUID
    user_id: UUID
    parts: list[str] = field(default_factory=list)
    listeners: list[_Listener] = field(default_factory=list)
    # see every delta with the answer's own index, and the end frame (the relay to
    # other processes)
    watchers: list[Push] = field(default_factory=list)
    on_end: Callable[[LiveAnswer], None] | None = None

    def attach(self, request_id: Any, push: Push) -> None:
        listener = _Listener(request_id, push)
        if self.parts:
            push(Delta(id=request_id, index=0, text="".join(self.parts)))
            listener.index = 1
        self.listeners.append(listener)

    def detach(self, push: Push) -> None:
        self.listeners = [x for x in self.listeners if x.push is not push]

    def delta(self, text: str) -> None:
        self.parts.append(text)
        for watch in self.watchers:
            watch(Delta(id=None, index=len(self.parts) - 1, text=text))
        for x in self.listeners:
            x.push(Delta(id=x.request_id, index=x.index, text=text))
            x.index += 1

    def finish(self, final: Completed | AiError) -> None:
        for x in self.listeners:
            x.push(msgspec.structs.replace(final, id=x.request_id))
        self.listeners = []
        for watch in self.watchers:
            watch(final)
        if self.on_end is not None:
            self.on_end(self)
