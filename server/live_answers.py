"""Answers in progress, attachable from any web process.

Attaching on the process that runs the answer is a local listener. Another process
reaches it through the hub's transport on channel `ai:<conversation id>`: the attacher
asks (`want`), the owner answers with the text so far (`snap`, with how many deltas it
holds) and from then on relays each delta (`d`, with the answer's own index) and the end
frame (`end`); the attacher drops deltas the snapshot already held, so the seam has no
gap and no repeat. No owner answering means the answer is not running anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain.ai.ask import Prepared, answer
from domain.ai.live import LiveAnswer, Push
from domain.ai.models import AiError, AnswerFrame, Completed, Delta, Streaming
from domain.events import AI_STREAMING, user_channel
from domain.ports import Answerer
from server import metrics
from server.hub.hub import Hub

ASK_TIMEOUT_S = 1.0
_json = msgspec.json.Encoder()
_end_frame = msgspec.json.Decoder(Completed | AiError)


class _Msg(msgspec.Struct, omit_defaults=True):
    k: str  # want | snap | d | end
    r: str | None = None  # the attacher's nonce (want, snap)
    u: str | None = None  # the answer's user (snap)
    t: str | None = None
    i: int | None = None
    n: int | None = None
    f: msgspec.Raw = msgspec.Raw(b"null")  # the end frame, JSON


_decode = msgspec.json.Decoder(_Msg).decode


def _channel(conversation_id: UUID) -> str:
    return f"ai:{conversation_id}"


class LiveAnswers:
    def __init__(self, hub: Hub, pool: asyncpg.Pool, answerer: Answerer) -> None:
        self._hub = hub
        self._pool = pool
        self._answerer = answerer
        self._running: set[asyncio.Task[None]] = set()
        self._answers: dict[UUID, LiveAnswer] = {}
        self._taps: dict[UUID, Any] = {}
        self._untapping: set[asyncio.Task[None]] = set()

    async def run(self, ask: Prepared, emit: Push) -> asyncio.Task[None]:
        """Start answering `ask` in its own task (kept referenced until it ends, even if
        the socket that asked closes): attachable, announced to the user's devices as
        `ai.streaming`, counted in the metrics when it ends."""
        live = await self.start(ask.conversation_id, ask.user_id)
        self._hub.publish_ephemeral(
            user_channel(ask.user_id), AI_STREAMING,
            Streaming(conversation_id=ask.conversation_id, book_id=ask.params.book_id,
                      question=ask.params.question),
        )  # fmt: skip

        async def go() -> None:
            stored = await answer(self._pool, self._answerer, ask, emit, self._hub.publish, live)
            provider = self._answerer.provider
            metrics.AI_ANSWERS.labels(provider, stored.status).inc()
            metrics.AI_TOKENS.labels(provider).inc(stored.tokens_used or 0)
            metrics.AI_COST.labels(provider).inc(float(stored.cost_usd or 0))

        task = asyncio.create_task(go())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return task

    async def start(self, conversation_id: UUID, user_id: UUID) -> LiveAnswer:
        live = LiveAnswer(conversation_id, user_id, on_end=self._end)
        self._answers[conversation_id] = live
        relaying = False
        name = _channel(conversation_id)

        def heard(raw: bytes) -> None:
            nonlocal relaying
            msg = _decode(raw)
            if msg.k == "want":
                relaying = True
                snap = _Msg("snap", r=msg.r, u=str(user_id), t="".join(live.parts),
                            n=len(live.parts))  # fmt: skip
                self._hub.send(name, _json.encode(snap))

        def watch(frame: AnswerFrame) -> None:
            if not relaying:
                return
            if isinstance(frame, Delta):
                self._hub.send(name, _json.encode(_Msg("d", i=frame.index, t=frame.text)))
            else:
                self._hub.send(name, _json.encode(_Msg("end", f=msgspec.Raw(_json.encode(frame)))))

        live.watchers.append(watch)
        self._taps[conversation_id] = heard
        await self._hub.tap(name, heard)
        return live

    def _end(self, live: LiveAnswer) -> None:
        self._answers.pop(live.conversation_id, None)
        heard = self._taps.pop(live.conversation_id, None)
        if heard is not None:
            task = asyncio.ensure_future(self._hub.untap(_channel(live.conversation_id), heard))
            self._untapping.add(task)
            task.add_done_callback(self._untapping.discard)

    def local(self, conversation_id: UUID, user_id: UUID) -> LiveAnswer | None:
        live = self._answers.get(conversation_id)
        return live if live is not None and live.user_id == user_id else None

    async def attach_remote(
        self, conversation_id: UUID, user_id: UUID, request_id: Any, push: Push
    ) -> bool:
        """Attach to an answer running in another process; False when none answers."""
        attach = _RemoteAttach(self._hub, _channel(conversation_id), user_id, request_id, push)
        await self._hub.tap(attach.name, attach.heard)
        self._hub.send(attach.name, _json.encode(_Msg("want", r=attach.nonce)))
        ok = False
        with contextlib.suppress(TimeoutError):
            ok = await asyncio.wait_for(asyncio.shield(attach.snapped), ASK_TIMEOUT_S)
        if not ok:
            await attach.stop()
        return ok


class _RemoteAttach:
    """One attacher's side: the snapshot as delta 0, then the owner's later deltas
    renumbered, then the end frame, all under the attach request's id."""

    def __init__(self, hub: Hub, name: str, user_id: UUID, request_id: Any, push: Push) -> None:
        self.hub, self.name, self.user = hub, name, str(user_id)
        self.request_id, self.push = request_id, push
        self.nonce = uuid.uuid4().hex
        self.snapped: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.early: list[_Msg] = []
        self.next_delta = 0  # the owner's index the snapshot did not hold
        self.index = 0  # ours
        self._stopping: asyncio.Task[None] | None = None

    def heard(self, raw: bytes) -> None:
        msg = _decode(raw)
        if msg.k == "snap" and msg.r == self.nonce and not self.snapped.done():
            self._snap(msg)
        elif msg.k in {"d", "end"}:
            if self.snapped.done():
                self._forward(msg)
            else:
                self.early.append(msg)

    def _snap(self, msg: _Msg) -> None:
        if msg.u != self.user:  # someone else's answer: as if it were not there
            self.snapped.set_result(False)
            return
        if msg.t:
            self.push(Delta(id=self.request_id, index=0, text=msg.t))
            self.index = 1
        self.next_delta = msg.n or 0
        self.snapped.set_result(True)
        for early in self.early:
            self._forward(early)

    def _forward(self, msg: _Msg) -> None:
        if msg.k == "d" and msg.i is not None and msg.i >= self.next_delta:
            self.next_delta = msg.i + 1
            self.push(Delta(id=self.request_id, index=self.index, text=msg.t or ""))
            self.index += 1
        elif msg.k == "end":
            self.push(msgspec.structs.replace(_end_frame.decode(msg.f), id=self.request_id))
            self._stopping = asyncio.ensure_future(self.stop())

    async def stop(self) -> None:
        await self.hub.untap(self.name, self.heard)
