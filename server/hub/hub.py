"""The hub of one web process (ARCHITECTURE.md §3).

- A registry of local connections and, per channel, the local subscriptions; the process
  subscribes to a transport channel only while it has a local subscriber.
- Every event reaches this process through the transport (Redis pub/sub, or the memory
  backend in one process), already encoded; the same text goes to every subscriber.
- Per channel, frames are handed on strictly in seq order: a duplicate is dropped, and a
  frame that arrives ahead of a missing one waits briefly for it; if the missing one does
  not come, it is read from PostgreSQL (gap backfill).
- Every few seconds, and after every transport restart, each channel's head is compared
  with PostgreSQL's and anything missed is read back (reconcile): events committed while
  Redis was down, or whose publisher died before publishing, are never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import events as ev
from domain.accounts.models import Revoked
from domain.events import StoredEvent
from server import metrics
from server.hub import frames
from server.hub.connection import (
    CLOSE_RESTART,
    CLOSE_TOO_MANY,
    CLOSE_UNAUTHORIZED,
    Connection,
    Subscription,
)
from server.hub.direct import text_frame
from server.hub.fanout import Fanout, stop_task

log = logging.getLogger(__name__)

# how long a frame that arrived ahead of a missing seq waits before the gap is read back
GAP_WAIT_S = 0.05
# hub-to-hub messages that every process hears: sessions revoked, books closed to others
CONTROL = "control"
# how often sockets are checked for an expired access token
EXPIRY_SWEEP_S = 1.0


class RevokeSessions(msgspec.Struct, tag="revoke"):
    user_id: UUID
    family_id: UUID | None  # one login; None: every login of the user


class BookClosed(msgspec.Struct, tag="book_closed"):
    book_id: UUID
    owner_id: UUID


_control = msgspec.json.Decoder(RevokeSessions | BookClosed).decode
_encode = msgspec.json.Encoder().encode
REPLAY_PAGE = 500
RECHECK_AFTER_OPEN_S = 0.25


class Channel:
    __slots__ = (
        "backfilling", "early", "last_seq", "name", "pending", "ready", "seen_head", "subs"
    )  # fmt: skip

    def __init__(self, name: str) -> None:
        self.name = name
        self.subs: dict[str, Subscription] = {}
        self.last_seq = 0  # highest seq handed to subscribers, in order
        self.ready = False  # last_seq known (read from PostgreSQL after subscribing)
        self.early: list[tuple[int, str]] = []  # frames that came before `ready`
        self.pending: dict[int, str] = {}  # frames ahead of a gap
        self.backfilling = False
        self.seen_head = 0  # PostgreSQL's head at the previous reconcile


class Hub:
    def __init__(
        self,
        pool: asyncpg.Pool,
        reconcile_s: float = 2.0,
        presence_max: int = 100,
        max_sockets_per_user: int = 20,
    ) -> None:
        self.pool = pool
        self._presence_max = presence_max
        self._max_sockets_per_user = max_sockets_per_user
        self.connections: dict[str, Connection] = {}
        self._by_user: dict[UUID, dict[str, Connection]] = {}  # oldest first
        self.channels: dict[str, Channel] = {}
        self._opening: dict[str, asyncio.Future[Channel]] = {}
        self._reconcile_s = reconcile_s
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Future[None]] = set()
        self.fanout: Fanout | None = None
        # process-internal listeners on a channel, outside any connection (the AI relay)
        self.taps: dict[str, list[Callable[[bytes], None]]] = {}
        # told of every batch of committed events this process publishes (the feed)
        self.observers: list[Callable[[list[StoredEvent]], None]] = []

    async def start(self, make_fanout: Callable[[Hub], Fanout]) -> None:
        self.fanout = make_fanout(self)
        await self.fanout.start()
        await self.tap(CONTROL, self._on_control)
        self._tasks.append(asyncio.create_task(self._reconcile_loop(), name="hub-reconcile"))
        self._tasks.append(asyncio.create_task(self._expiry_loop(), name="hub-expiry"))

    async def stop(self) -> None:
        """Close every socket with 1012 (clients reconnect and resume), then stop."""
        for conn in list(self.connections.values()):
            conn.close(CLOSE_RESTART, "server restart")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.gather(*(c.wait_closed() for c in self.connections.values()))
        for task in self._tasks:
            await stop_task(task)
        if self.fanout is not None:
            await self.fanout.stop()

    # -- publishing (after commit) ----------------------------------------------------

    def publish(self, events: list[StoredEvent]) -> None:
        """Committed events: to the transport for every process, and at once to this
        process's own subscribers (in seq order, as from the transport; the transport's
        copy is then a duplicate and dropped). Local readers do not wait for the round
        trip through Redis, and the fan-out is done before the writer's next frame is
        read: a writer cannot outrun its readers and pile frames up in their sockets."""
        assert self.fanout is not None
        for e in events:
            frame = frames.event_frame(e)
            self.fanout.publish(e.channel, frames.wire(e.seq, frame))
            metrics.EVENTS_PUBLISHED.inc()
            channel = self.channels.get(e.channel)
            if channel is not None and channel.ready:
                self._accept(channel, e.seq, frame.decode())
        for observe in self.observers:
            observe(events)

    def publish_ephemeral(self, channel: str, event: str, data: Any) -> None:
        assert self.fanout is not None
        self.fanout.publish(channel, frames.wire(0, frames.ephemeral_frame(channel, event, data)))

    async def tap(self, name: str, listener: Callable[[bytes], None]) -> None:
        """Hear every ephemeral frame on `name` from any process, as raw JSON bytes."""
        await self.tap_many([(name, listener)])

    async def tap_many(self, taps: list[tuple[str, Callable[[bytes], None]]]) -> None:
        assert self.fanout is not None
        new = []
        for name, listener in taps:
            if name not in self.taps and name not in self.channels:
                new.append(name)
            self.taps.setdefault(name, []).append(listener)
        await self.fanout.subscribe_many(new)

    async def untap(self, name: str, listener: Callable[[bytes], None]) -> None:
        assert self.fanout is not None
        listeners = [x for x in self.taps.get(name, []) if x is not listener]
        if listeners:
            self.taps[name] = listeners
            return
        self.taps.pop(name, None)
        if name not in self.channels:
            await self.fanout.unsubscribe(name)

    def send(self, name: str, frame: bytes) -> None:
        """An ephemeral frame to the taps on `name` in every process."""
        assert self.fanout is not None
        self.fanout.publish(name, frames.wire(0, frame))

    def announce_presence(self, channel: str, event: str, data: Any) -> None:
        """Presence on a crowded channel would send every join to every reader (O(N^2)
        frames for N readers): past the limit it is not announced."""
        local = self.channels.get(channel)
        if local is not None and len(local.subs) <= self._presence_max:
            self.publish_ephemeral(channel, event, data)

    # -- who may stay connected ---------------------------------------------------------

    def revoke(self, revoked: Revoked) -> None:
        """Close, in every process, the sockets of a login that ended (logout, a burned
        refresh chain) or of every login of a user (`family_id` None)."""
        self.send(CONTROL, _encode(RevokeSessions(revoked.user_id, revoked.family_id)))

    def close_book(self, book_id: UUID, owner_id: UUID) -> None:
        """The book turned private: every other reader's subscription to it ends."""
        self.send(CONTROL, _encode(BookClosed(book_id, owner_id)))

    def _on_control(self, raw: bytes) -> None:
        try:
            message = _control(raw)
        except msgspec.DecodeError:
            log.warning("unreadable control message: %r", raw[:200])
            return
        match message:
            case RevokeSessions(user_id=user, family_id=family):
                for conn in list(self._by_user.get(user, {}).values()):
                    if family is None or conn.family_id == family:
                        conn.close(CLOSE_UNAUTHORIZED, "signed out")
            case BookClosed(book_id=book, owner_id=owner):
                task = asyncio.ensure_future(self._drop_readers(ev.book_channel(book), owner))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _drop_readers(self, name: str, owner: UUID) -> None:
        channel = self.channels.get(name)
        if channel is None:
            return
        for sub in list(channel.subs.values()):
            if sub.conn.user_id != owner:
                await self.unsubscribe(sub.conn, name)
                sub.conn.push(frames.encode(frames.Unsubscribed(name, "forbidden")))

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_SWEEP_S)
            now = time.time()
            for conn in list(self.connections.values()):
                if conn.expires_at <= now:
                    conn.close(CLOSE_UNAUTHORIZED, "token expired")

    # -- connections --------------------------------------------------------------------

    def register(self, conn: Connection) -> None:
        """Add a socket; past the user's limit on this process their oldest socket is
        closed (4409): a reader's new device always gets in, a forgotten tab goes."""
        self.connections[conn.id] = conn
        metrics.WS_CONNECTIONS.set(len(self.connections))
        mine = self._by_user.setdefault(conn.user_id, {})
        mine[conn.id] = conn
        while len(mine) > self._max_sockets_per_user:
            oldest = mine.pop(next(iter(mine)))
            oldest.close(CLOSE_TOO_MANY, "too many connections for this account")

    async def unregister(self, conn: Connection) -> None:
        self.connections.pop(conn.id, None)
        metrics.WS_CONNECTIONS.set(len(self.connections))
        mine = self._by_user.get(conn.user_id)
        if mine is not None:
            mine.pop(conn.id, None)
            if not mine:
                del self._by_user[conn.user_id]
        for name in list(conn.subscriptions):
            await self.unsubscribe(conn, name)

    async def subscribe(
        self,
        conn: Connection,
        name: str,
        since: int | None,
        before_replay: Callable[[int], object] | None = None,
    ) -> int:
        """Subscribe `conn` to channel `name`; return the channel's head seq (also given
        to `before_replay`, which sends the ack ahead of any replayed event). With
        `since`, the events after it come first (from PostgreSQL), then live ones; a
        `since` older than what is kept gets a `resync` frame instead."""
        channel = await self._open(name)
        head = channel.last_seq
        # live frames past `sent` go out; a client that loaded state at `since` (which
        # may be ahead of what reached this process yet) must not get them twice
        sub = Subscription(conn, name, head if since is None else max(since, head))
        sub.replaying = since is not None and since < head
        conn.subscriptions[name] = sub
        channel.subs[conn.id] = sub
        if before_replay is not None:
            before_replay(head)
        if sub.replaying:
            assert since is not None
            sub.sent = since
            try:
                await self._replay(sub, since, head)
            finally:
                self._finish_replay(sub)
        return head

    async def unsubscribe(self, conn: Connection, name: str) -> None:
        conn.subscriptions.pop(name, None)
        channel = self.channels.get(name)
        if channel is None:
            return
        channel.subs.pop(conn.id, None)
        if not channel.subs:
            del self.channels[name]
            assert self.fanout is not None
            await self.fanout.unsubscribe(name)

    async def _replay(self, sub: Subscription, since: int, head: int) -> None:
        async with self.pool.acquire() as db:
            oldest = await ev.oldest_kept(db, sub.channel)
            if oldest is None or oldest > since + 1:
                # the events after `since` are no longer kept: reload over REST
                sub.conn.push(frames.encode(frames.ResyncFrame(sub.channel, head)))
                sub.sent = head
                return
            after = since
            while after < head:
                batch = await ev.events_since(db, sub.channel, after, REPLAY_PAGE)
                if not batch:
                    break
                for e in batch:
                    sub.conn.push(frames.event_frame(e).decode())
                    sub.sent = e.seq
                after = batch[-1].seq

    def _finish_replay(self, sub: Subscription) -> None:
        """Switch to live: hand on what arrived during the replay, past what was sent."""
        buffered, sub.buffer = sorted(sub.buffer), []
        sub.replaying = False
        for seq, text in buffered:
            sub.offer(seq, text)

    async def _open(self, name: str) -> Channel:
        channel = self.channels.get(name)
        if channel is not None and channel.ready:
            return channel
        opening = self._opening.get(name)
        if opening is not None:
            return await asyncio.shield(opening)
        future: asyncio.Future[Channel] = asyncio.get_running_loop().create_future()
        self._opening[name] = future
        try:
            channel = Channel(name)
            self.channels[name] = channel
            assert self.fanout is not None
            # subscribe first, then read the head: nothing can fall between the two
            await self.fanout.subscribe(name)
            async with self.pool.acquire() as db:
                channel.last_seq = (await ev.heads(db, [name]))[name]
            channel.ready = True
            early, channel.early = sorted(channel.early), []
            for seq, text in early:
                self._accept(channel, seq, text)
            # the transport may confirm the subscription a moment after returning (redis-py
            # does not wait): look at PostgreSQL once more shortly, so an event committed
            # in that moment is not left to the periodic reconcile
            asyncio.get_running_loop().call_later(
                RECHECK_AFTER_OPEN_S, lambda: asyncio.ensure_future(self._recheck(channel))
            )
            future.set_result(channel)
            return channel
        except BaseException as exc:
            self.channels.pop(name, None)
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            self._opening.pop(name, None)

    # -- delivery ------------------------------------------------------------------------

    def deliver(self, name: str, payload: bytes) -> None:
        """A frame from the transport."""
        taps = self.taps.get(name)
        if taps:
            for listener in list(taps):
                listener(frames.unwire(payload)[1])
        channel = self.channels.get(name)
        if channel is None:
            return
        seq, frame = frames.unwire(payload)
        if 0 < seq <= channel.last_seq and channel.ready:
            return  # handed on already: most often this process's own event (publish)
        text = frame.decode()
        if seq == 0:  # ephemeral: no order, no replay
            framed = text_frame(text)
            for sub in list(channel.subs.values()):
                sub.conn.push(text, framed)
            return
        if not channel.ready:
            channel.early.append((seq, text))
            return
        self._accept(channel, seq, text)

    def _accept(self, channel: Channel, seq: int, text: str) -> None:
        if seq <= channel.last_seq:
            return  # already handed on (a republish, or the replay covered it)
        if seq > channel.last_seq + 1:
            channel.pending[seq] = text
            if not channel.backfilling:
                channel.backfilling = True
                asyncio.get_running_loop().call_later(
                    GAP_WAIT_S, lambda: asyncio.ensure_future(self._backfill(channel))
                )
            return
        self._hand_on(channel, seq, text)
        while channel.pending:
            nxt = channel.pending.pop(channel.last_seq + 1, None)
            if nxt is None:
                break
            self._hand_on(channel, channel.last_seq + 1, nxt)

    def _hand_on(self, channel: Channel, seq: int, text: str) -> None:
        channel.last_seq = seq
        subs = list(channel.subs.values())
        framed = text_frame(text)  # the same bytes for every socket written directly
        direct = 0
        for sub in subs:
            direct += sub.offer(seq, text, framed)
        # once per event: the counters take a lock
        metrics.EVENTS_DELIVERED.inc(len(subs))
        metrics.EVENTS_QUEUED.inc(len(subs) - direct)

    async def _backfill(self, channel: Channel, upto: int | None = None) -> None:
        """Read the events between the channel's last seq and `upto` (or the highest
        waiting frame) from PostgreSQL and hand them on in order."""
        try:
            target = upto if upto is not None else max(channel.pending, default=0)
            while channel.last_seq < target and self.channels.get(channel.name) is channel:
                async with self.pool.acquire() as db:
                    batch = await ev.events_since(db, channel.name, channel.last_seq, REPLAY_PAGE)
                if not batch:
                    break
                for e in batch:
                    channel.pending.pop(e.seq, None)
                    if e.seq == channel.last_seq + 1:
                        self._hand_on(channel, e.seq, frames.event_frame(e).decode())
            for seq in [s for s in channel.pending if s <= channel.last_seq]:
                del channel.pending[seq]
            while channel.pending:
                nxt = channel.pending.pop(channel.last_seq + 1, None)
                if nxt is None:
                    break
                self._hand_on(channel, channel.last_seq + 1, nxt)
        except Exception:
            log.exception("backfill of %s failed; the reconcile loop will retry", channel.name)
        finally:
            channel.backfilling = False

    async def _recheck(self, channel: Channel) -> None:
        if self.channels.get(channel.name) is not channel or channel.backfilling:
            return
        try:
            async with self.pool.acquire() as db:
                head = (await ev.heads(db, [channel.name]))[channel.name]
        except Exception:
            log.exception("recheck of %s failed; the reconcile loop will retry", channel.name)
            return
        if head > channel.last_seq and not channel.backfilling:
            channel.backfilling = True
            await self._backfill(channel, upto=head)

    async def reconcile(self, *, settled: bool = False) -> None:
        """Compare every local channel's last seq with PostgreSQL's head; read back what
        this process missed. An event committed a moment ago may still be on its way
        through the transport: unless `settled` (the transport restarted, so nothing is
        on its way), only what was already committed at the previous reconcile, an
        interval ago, is read back; reading the rest would repeat the transport's work
        on every busy channel."""
        ready = [c for c in self.channels.values() if c.ready and not c.backfilling]
        if not ready:
            return
        async with self.pool.acquire() as db:
            found = await ev.heads(db, [c.name for c in ready])
        for channel in ready:
            head = found[channel.name]
            missed, channel.seen_head = (head if settled else channel.seen_head), head
            if missed > channel.last_seq and not channel.backfilling:
                channel.backfilling = True
                await self._backfill(channel, upto=missed)

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self._reconcile_s)
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconcile failed")
