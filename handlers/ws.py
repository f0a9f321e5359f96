"""The WebSocket endpoint `/ws` (PROTOCOL.md §4): hello, then a loop that decodes each
frame, dispatches it, and answers with the request's id. Written as a plain ASGI app so
each message costs no framework machinery."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from domain import events as ev
from domain.accounts.models import to_public
from domain.accounts.operations import get_user
from domain.ai import conversations
from domain.ai.ask import final_frame, prepare
from domain.ai.live import LiveAnswer
from domain.ai.models import AiError
from domain.channels import TRENDING, book_of, check_canonical, may_subscribe
from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    NotReady,
    QuotaExceeded,
)
from domain.social import trending
from handlers import protocol as p
from handlers.ws_calls import METHODS, Caller
from server.context import AppContext
from server.errors import BAD_VALUES, bad_value_message, ws_code
from server.hub import frames
from server.hub.connection import (
    CLOSE_NO_HELLO,
    CLOSE_POLICY,
    CLOSE_UNAUTHORIZED,
    Connection,
    corked,
)
from server.hub.direct import slim_down
from server.hub.ratelimit import TokenBucket

log = logging.getLogger(__name__)


Message = dict[str, Any]
ReceiveMessage = Callable[[], Awaitable[Message]]
SendMessage = Callable[[Message], Awaitable[None]]


def make_ws_app(ctx: AppContext) -> Callable[[Any, Any, Any], Awaitable[None]]:
    """The ASGI app for `/ws`. It is dispatched before the framework's middleware, so
    each frame sent costs no middleware wrappers (measured: ~16% of the server's CPU on
    the durable-writes benchmark)."""

    def ws_app(scope: Any, receive: ReceiveMessage, send: SendMessage) -> Awaitable[None]:
        # the socket's coroutine itself, not one awaiting it: a frame less held per socket
        return Socket(ctx, receive, send, ctx.settings.public_base_url).run()

    return ws_app


class Socket:
    __slots__ = (
        "announced", "asks", "attached", "base_url", "bucket", "conn", "ctx", "hub",
        "receive", "send",
    )  # fmt: skip

    def __init__(
        self, ctx: AppContext, receive: ReceiveMessage, send: SendMessage, base_url: str
    ) -> None:
        self.ctx = ctx
        self.base_url = base_url.rstrip("/")
        self.hub = ctx.hub
        self.receive = receive
        self.send = send
        self.conn: Connection | None = None
        settings = ctx.settings
        self.bucket = TokenBucket(settings.ws_rate_per_s, settings.ws_rate_burst)
        self.asks: dict[str, asyncio.Task[None]] = {}
        self.announced = False
        self.attached: list[LiveAnswer] = []

    async def run(self) -> None:
        if (await self.receive())["type"] != "websocket.connect":
            return
        await self.send({"type": "websocket.accept"})
        slim_down(self.send)
        hello = await self._hello()
        if hello is None:
            return
        conn = self.conn
        assert conn is not None
        self.hub.register(conn)
        try:
            await self._welcome(hello)
            del hello  # its token and resume points are not kept for the socket's life
            await self.ctx.feed.connect(conn)
            await self._loop()
        finally:
            await self.ctx.feed.disconnect(conn)
            # answers in progress go on (and are stored): the app may reload and attach
            for live in self.attached:
                live.detach(self._push)
            for name in list(conn.subscriptions):
                self._presence(name, ev.PRESENCE_LEAVE)
            await self.hub.unregister(conn)
            await conn.stop()

    # -- opening ------------------------------------------------------------------------

    async def _close_now(self, code: int, reason: str) -> None:
        await self.send({"type": "websocket.close", "code": code, "reason": reason})

    async def _hello(self) -> p.Hello | None:
        try:
            async with asyncio.timeout(self.ctx.settings.ws_hello_timeout_s):
                message = await self.receive()
        except TimeoutError:
            await self._close_now(CLOSE_NO_HELLO, "no hello in time")
            return None
        if message["type"] != "websocket.receive":
            return None
        try:
            hello = p.decode_hello(message.get("text") or message.get("bytes") or b"")
            claims = self.ctx.tokens.claims(hello.token)
            async with self.ctx.pool.acquire() as db:
                user = await get_user(db, claims.user_id)
        except (msgspec.DecodeError, DomainError):
            await self._close_now(CLOSE_UNAUTHORIZED, "unauthorized")
            return None
        self.ctx.activity.seen(user.id)
        profile = to_public(user)  # kept as a Struct: a dict of it costs more per socket
        # a private profile is not announced to a book's readers (presence shows names)
        self.announced = user.public_profile
        self.conn = Connection(
            uuid.uuid4().hex,
            claims.user_id,
            hello.device,
            self.send,
            self.ctx.settings.ws_queue_size,
            profile,
            expires_at=claims.expires_at,
            family_id=claims.family_id,
        )
        return hello

    async def _welcome(self, hello: p.Hello) -> None:
        conn = self.conn
        assert conn is not None
        welcome = p.encode(p.Welcome(conn.user_id, conn.id, self.ctx.settings.ws_heartbeat_s))
        own = ev.user_channel(conn.user_id)
        # welcome goes out once the user channel is registered (a client may write the
        # moment it sees welcome and must hear of it) and before any resumed event
        await self.hub.subscribe(conn, own, hello.resume.get(own), lambda _: conn.push(welcome))
        for channel, since in hello.resume.items():
            if channel == own:
                continue
            try:
                await self._subscribe(channel, since, None)
            except DomainError as exc:
                self._error(None, exc)

    # -- the loop -----------------------------------------------------------------------

    async def _loop(self) -> None:
        conn = self.conn
        assert conn is not None
        while True:
            message = await self.receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            if kind != "websocket.receive" or conn.close_code is not None:
                continue
            now = time.monotonic()
            if not self.bucket.take(now):
                if self.bucket.exhausted_for_too_long(now):
                    conn.close(CLOSE_POLICY, "rate limit")
                    continue
                conn.push(p.encode(p.Error(None, "rate_limited", "too many frames; slow down")))
                continue
            text = message.get("text")
            if not isinstance(text, str):
                conn.push(p.encode(p.Error(None, "bad_request", "frames are JSON text")))
                continue
            await self._handle(text)

    async def _handle(self, text: str) -> None:
        try:
            frame = p.decode_frame(text)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self._bad_frame(text, exc)
            return
        request_id = getattr(frame, "id", None)
        try:
            await self._dispatch(frame)
        except DomainError as exc:
            self._error(request_id, exc)
        except BAD_VALUES as exc:
            self._push(p.Error(request_id, "bad_request", bad_value_message(exc)))
        except Exception:
            log.exception("frame failed")
            self._push(p.Error(request_id, "internal", "internal error"))

    async def _dispatch(self, frame: p.Frame) -> None:
        if not isinstance(frame, p.Ping | p.Auth):  # keeping a socket open is not activity
            assert self.conn is not None
            self.ctx.activity.seen(self.conn.user_id)
        match frame:
            case p.Call():
                await self._call(frame)
            case p.Subscribe():
                await self._subscribe(frame.channel, frame.since, frame.id)
            case p.Unsubscribe():
                self._presence(frame.channel, ev.PRESENCE_LEAVE)
                assert self.conn is not None
                await self.hub.unsubscribe(self.conn, frame.channel)
                self._ack(frame.id, p.SubscribeResult(frame.channel, 0))
            case p.Ping() | p.Auth():
                self._keep_alive(frame)
            case p.AiAsk() | p.AiCancel() | p.AiAttach():
                await self._ai(frame)
            case p.Hello():
                raise Invalid("already said hello")

    def _bad_frame(self, text: str, exc: Exception) -> None:
        try:
            envelope = p.decode_envelope(text)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self._push(p.Error(None, "bad_request", "not a JSON object"))
            return
        request_id = envelope.id if isinstance(envelope.id, str | int) else None
        if isinstance(envelope.type, str) and envelope.type not in p.FRAME_TYPES:
            self._push(p.Error(request_id, "unknown_type", f"unknown frame type {envelope.type!r}"))
            return
        self._push(p.Error(request_id, "bad_request", str(exc)))

    def _keep_alive(self, frame: p.Ping | p.Auth) -> None:
        if isinstance(frame, p.Ping):
            self._push(p.Pong(frame.id))
        else:
            self._renew(frame)

    def _renew(self, frame: p.Auth) -> None:
        """A new access token in-band: the socket lives on until it expires. A token
        that is invalid, expired or another user's closes the socket (4401), as at
        hello."""
        conn = self.conn
        assert conn is not None
        try:
            claims = self.ctx.tokens.claims(frame.token)
        except DomainError:
            claims = None
        if claims is None or claims.user_id != conn.user_id:
            conn.close(CLOSE_UNAUTHORIZED, "unauthorized")
            return
        conn.expires_at, conn.family_id = claims.expires_at, claims.family_id
        until = datetime.fromtimestamp(claims.expires_at, UTC)
        self._ack(frame.id, p.AuthResult(conn.user_id, until))

    async def _call(self, frame: p.Call) -> None:
        conn = self.conn
        assert conn is not None
        if frame.method == "presence.set":
            await self._presence_set(frame)
            return
        method = METHODS.get(frame.method)
        if method is None:
            self._push(p.Error(frame.id, "unknown_method", f"unknown method {frame.method!r}"))
            return
        try:
            params = method.decode(frame.params)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            message = str(exc).replace("`$", "`$.params", 1)
            self._push(p.Error(frame.id, "bad_request", message))
            return
        caller = Caller(conn.user_id, conn.device, self.base_url)
        if method.ctx_run is not None:
            written = await method.ctx_run(self.ctx, caller, params)
        else:
            assert method.run is not None
            async with self.ctx.pool.acquire() as db:
                written = await method.run(db, caller, params)
        # committed: acknowledge, then fan out; this device's ack and event in one write
        with corked:
            self._ack(frame.id, written.value)
            self.hub.publish(written.events)
        if method.after is not None:
            method.after(self.ctx, conn.user_id, written)

    async def _subscribe(self, channel: str, since: int | None, request_id: str | None) -> None:
        conn = self.conn
        assert conn is not None
        check_canonical(channel)
        limit = self.ctx.settings.ws_max_subscriptions
        if channel not in conn.subscriptions and len(conn.subscriptions) >= limit:
            raise QuotaExceeded(f"a connection keeps at most {limit} subscriptions")
        async with self.ctx.pool.acquire() as db:
            allowed = await may_subscribe(db, conn.user_id, channel)
        if not allowed:
            raise Forbidden(f"not allowed on {channel}")
        await self.hub.subscribe(
            conn,
            channel,
            since,
            lambda head: self._ack(request_id, p.SubscribeResult(channel, head)),
        )
        self._presence(channel, ev.PRESENCE_JOIN)
        if channel == TRENDING:  # the current snapshot, then changes as they come
            async with self.ctx.pool.acquire() as db:
                for timeframe in trending.TIMEFRAMES:
                    snapshot = await trending.current(db, timeframe)
                    conn.push(frames.encode(frames.EphemeralFrame(TRENDING, ev.TRENDING_UPDATED,
                                                                  snapshot)))  # fmt: skip

    async def _presence_set(self, frame: p.Call) -> None:
        conn = self.conn
        assert conn is not None
        try:
            params = msgspec.json.decode(frame.params, type=p.PresenceSet)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            self._push(p.Error(frame.id, "bad_request", str(exc).replace("`$", "`$.params", 1)))
            return
        channel = ev.book_channel(params.book_id)
        async with self.ctx.pool.acquire() as db:
            if not await may_subscribe(db, conn.user_id, channel):
                raise Forbidden("not allowed on this book")
        name = ev.PRESENCE_JOIN if params.status == "reading" else ev.PRESENCE_LEAVE
        if self.announced:
            self.hub.announce_presence(channel, name, self._presence_data())
        self._ack(frame.id, {"book_id": str(params.book_id), "status": params.status})

    # -- AI answers (PROTOCOL.md §5) ------------------------------------------------------

    async def _ai(self, frame: p.AiAsk | p.AiCancel | p.AiAttach) -> None:
        match frame:
            case p.AiAsk():
                await self._ask(frame)
            case p.AiCancel():
                self._cancel(frame.id)
            case p.AiAttach():
                await self._attach(frame)

    async def _ask(self, frame: p.AiAsk) -> None:
        conn = self.conn
        assert conn is not None
        if frame.id is not None and frame.id in self.asks:
            raise Conflict(f"an answer for request {frame.id!r} is already in progress")
        ctx = self.ctx
        try:
            ask = await prepare(ctx.pool, ctx.embedder, conn.user_id, conn.device, frame.id, frame)
        except (QuotaExceeded, NotReady, Invalid) as exc:
            self._push(AiError(id=frame.id, code=exc.code, message=exc.message))  # type: ignore[arg-type]
            return
        task = await ctx.live_answers.run(ask, self._push)
        key = frame.id if frame.id is not None else str(ask.conversation_id)
        self.asks[key] = task
        task.add_done_callback(lambda _: self.asks.pop(key, None))

    def _cancel(self, request_id: str) -> None:
        task = self.asks.get(request_id)
        if task is None:
            raise NotFound(f"no answer in progress for request {request_id!r}")
        task.cancel()

    async def _attach(self, frame: p.AiAttach) -> None:
        conn = self.conn
        assert conn is not None
        answers = self.ctx.live_answers
        live = answers.local(frame.conversation_id, conn.user_id)
        if live is not None:
            live.attach(frame.id, self._push)
            self.attached.append(live)
            return
        try:
            async with self.ctx.pool.acquire() as db:
                stored = await conversations.get(db, conn.user_id, frame.conversation_id)
        except NotFound:  # not stored yet: running on another process, or nowhere
            if not await answers.attach_remote(
                frame.conversation_id, conn.user_id, frame.id, self._push
            ):
                raise
            return
        self._push(msgspec.structs.replace(final_frame(stored), id=frame.id))

    # -- helpers --------------------------------------------------------------------------

    def _presence_data(self) -> dict[str, Any]:
        assert self.conn is not None
        return {"user": self.conn.profile, "device": self.conn.device}

    def _presence(self, channel: str, event: str) -> None:
        """Presence is ephemeral: announced on book channels, never stored."""
        conn = self.conn
        if (
            self.announced
            and conn is not None
            and book_of(channel) is not None
            and channel in conn.subscriptions
        ):
            self.hub.announce_presence(channel, event, self._presence_data())

    def _push(self, frame: Any) -> None:
        assert self.conn is not None
        self.conn.push(p.encode(frame))

    def _ack(self, request_id: str | None, result: Any) -> None:
        self._push(p.Ack(request_id, result))

    def _error(self, request_id: str | None, exc: DomainError) -> None:
        self._push(p.Error(request_id, ws_code(exc), exc.message))
