"""Server frames the hub sends, encoded once per event and shared by every subscriber.

On the wire between processes a durable frame travels as `b"<seq>|" + frame`, so a
receiving hub orders it without parsing the JSON; ephemeral frames carry seq 0."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from domain.events import StoredEvent

_encode = msgspec.json.Encoder()


class EventFrame(msgspec.Struct, tag="event", tag_field="type"):
    channel: str
    seq: int
    event: str
    data: msgspec.Raw
    ts: datetime
    origin: str | None


class EphemeralFrame(msgspec.Struct, tag="event", tag_field="type"):
    channel: str
    event: str
    data: Any


class ResyncFrame(msgspec.Struct, tag="resync", tag_field="type"):
    channel: str
    seq: int


class Unsubscribed(msgspec.Struct, tag="unsubscribed", tag_field="type"):
    """The server ended a subscription: `reason` says why (`forbidden`: no longer
    allowed on the channel, e.g. the book turned private)."""

    channel: str
    reason: str


def event_frame(e: StoredEvent) -> bytes:
    return _encode.encode(EventFrame(e.channel, e.seq, e.event, e.data, e.ts, e.origin))


def ephemeral_frame(channel: str, event: str, data: Any) -> bytes:
    return _encode.encode(EphemeralFrame(channel, event, data))


def wire(seq: int, frame: bytes) -> bytes:
    return b"%d|" % seq + frame


def unwire(payload: bytes) -> tuple[int, bytes]:
    head, _, frame = payload.partition(b"|")
    return int(head), frame


def encode(frame: Any) -> str:
    return _encode.encode(frame).decode()
