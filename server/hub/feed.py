"""Live feed items (`feed.item`, ephemeral) to the connected followers of an author.

A write must not slow down with its author's follower count, so an item is published
once, on `feed:<author>`, and each web process hands it to its own sockets of that
author's followers. A process listens on `feed:<author>` while at least one of its
sockets follows that author (loaded when the socket opens), and on `following:<user>`
for each connected user, where follow and unfollow writes announce themselves so an
open socket starts or stops hearing an author at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain import events as ev
from domain.events import StoredEvent
from domain.social.follows import feed_author, followee_ids, is_following
from server.hub.connection import Connection
from server.hub.hub import Hub

log = logging.getLogger(__name__)

_json = msgspec.json.Encoder()


class _Author(msgspec.Struct):
    user_id: UUID
    book_id: UUID


class _Change(msgspec.Struct):
    author: UUID
    follows: bool


_author_of = msgspec.json.Decoder(_Author).decode
_change = msgspec.json.Decoder(_Change).decode


class FeedItem(msgspec.Struct):
    kind: str  # highlight | quote_share
    item: msgspec.Raw
    author: Any


class FeedRouter:
    def __init__(self, hub: Hub, pool: asyncpg.Pool) -> None:
        self._hub = hub
        self._pool = pool
        self._followers: dict[UUID, dict[str, Connection]] = {}  # author -> its sockets
        self._authors: dict[str, set[UUID]] = {}  # socket -> authors it follows
        self._listeners: dict[str, Callable[[bytes], None]] = {}  # tapped channel -> listener
        self._users: dict[UUID, dict[str, Connection]] = {}  # connected user -> sockets
        self._tasks: set[asyncio.Task[None]] = set()
        hub.observers.append(self.observe)

    # -- sockets --------------------------------------------------------------------------

    async def connect(self, conn: Connection) -> None:
        async with self._pool.acquire() as db:
            authors = await followee_ids(db, conn.user_id)
        self._authors[conn.id] = set()
        sockets = self._users.setdefault(conn.user_id, {})
        sockets[conn.id] = conn
        if len(sockets) == 1:
            user = conn.user_id
            await self._tap(f"following:{user}", lambda raw: self._changed(user, raw))
        # every followed author in one subscription command (thousands are possible)
        await self._hub.tap_many([tap for a in authors if (tap := self._note(conn, a))])

    async def disconnect(self, conn: Connection) -> None:
        for author in self._authors.pop(conn.id, set()):
            await self._unfollow(conn, author)
        sockets = self._users.get(conn.user_id, {})
        sockets.pop(conn.id, None)
        if not sockets:
            self._users.pop(conn.user_id, None)
            await self._untap(f"following:{conn.user_id}")

    async def _follow(self, conn: Connection, author: UUID) -> None:
        tap = self._note(conn, author)
        if tap is not None:
            await self._hub.tap_many([tap])

    def _note(self, conn: Connection, author: UUID) -> tuple[str, Callable[[bytes], None]] | None:
        """Record that `conn` hears `author`; the tap to open when this process did not
        listen to that author yet."""
        if conn.id not in self._authors:
            return None  # the socket closed meanwhile
        self._authors[conn.id].add(author)
        sockets = self._followers.setdefault(author, {})
        sockets[conn.id] = conn
        if len(sockets) > 1:
            return None
        name = f"feed:{author}"
        listener = partial(self._deliver, author)
        self._listeners[name] = listener
        return name, listener

    async def _unfollow(self, conn: Connection, author: UUID) -> None:
        self._authors.get(conn.id, set()).discard(author)
        sockets = self._followers.get(author, {})
        sockets.pop(conn.id, None)
        if not sockets:
            self._followers.pop(author, None)
            await self._untap(f"feed:{author}")

    async def _tap(self, name: str, listener: Callable[[bytes], None]) -> None:
        self._listeners[name] = listener
        await self._hub.tap(name, listener)

    async def _untap(self, name: str) -> None:
        listener = self._listeners.pop(name, None)
        if listener is not None:
            await self._hub.untap(name, listener)

    # -- items ----------------------------------------------------------------------------

    def _deliver(self, author: UUID, data: bytes) -> None:
        head = b'{"type":"event","channel":"user:'
        tail = b'","event":"feed.item","data":' + data + b"}"
        for conn in list(self._followers.get(author, {}).values()):
            conn.push((head + str(conn.user_id).encode() + tail).decode())

    def following_changed(self, follower: UUID, author: UUID, follows: bool) -> None:
        """A follow or unfollow was committed: the follower's open sockets everywhere
        start or stop hearing the author."""
        self._hub.send(f"following:{follower}", _json.encode(_Change(author, follows)))

    def _changed(self, user: UUID, raw: bytes) -> None:
        self._spawn(self._apply(user, _change(raw)))

    async def _apply(self, user: UUID, change: _Change) -> None:
        # re-read rather than trust the order of messages: follow then unfollow in quick
        # succession must end unfollowed
        follows = await self._is_follower(user, change.author)
        for conn in list(self._users.get(user, {}).values()):
            heard = self._authors.get(conn.id)
            if heard is None:
                continue
            if follows and change.author not in heard:
                await self._follow(conn, change.author)
            elif not follows and change.author in heard:
                await self._unfollow(conn, change.author)

    async def _is_follower(self, user: UUID, author: UUID) -> bool:
        async with self._pool.acquire() as db:
            return await is_following(db, user, author)

    def observe(self, events: list[StoredEvent]) -> None:
        """After a commit: a highlight that became public on its book (created there), or
        a quote shared, is a feed item for its author's followers."""
        for e in events:
            if e.event == ev.HIGHLIGHT_CREATED and e.channel.startswith("book:"):
                self._spawn(self.publish("highlight", e.data))
            elif e.event == ev.QUOTE_SHARED:
                self._spawn(self.publish("quote_share", e.data))

    async def publish(self, kind: str, item: msgspec.Raw) -> None:
        about = _author_of(item)
        async with self._pool.acquire() as db:
            profile = await feed_author(db, about.user_id, about.book_id)
        if profile is None:
            return
        data = _json.encode(FeedItem(kind, item, profile))
        self._hub.send(f"feed:{about.user_id}", data)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
