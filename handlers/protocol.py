"""Wire Structs of the WebSocket protocol (PROTOCOL.md §4), and their decoders, built once.

Client frames are a tagged union on `type`; msgspec's validation errors name the path
(`$.params.page_number`), which is passed on in the error frame's message."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta, Struct

from domain.ai.models import AskParams

RequestId = Annotated[str, Meta(max_length=128)]
Channel = Annotated[str, Meta(min_length=1, max_length=128)]
Seq = Annotated[int, Meta(ge=0)]


class ClientFrame(Struct, tag_field="type", forbid_unknown_fields=True, kw_only=True):
    pass


class Hello(ClientFrame, tag="hello"):
    token: Annotated[str, Meta(min_length=1, max_length=4096)]
    device: Annotated[str, Meta(min_length=1, max_length=64)]
    resume: dict[Channel, Seq] = {}


class Auth(ClientFrame, tag="auth"):
    """A fresh access token for an open socket, before the one it opened with expires."""

    token: Annotated[str, Meta(min_length=1, max_length=4096)]
    id: RequestId | None = None


class Subscribe(ClientFrame, tag="subscribe"):
    channel: Channel
    id: RequestId | None = None
    since: Seq | None = None


class Unsubscribe(ClientFrame, tag="unsubscribe"):
    channel: Channel
    id: RequestId | None = None


class Call(ClientFrame, tag="call"):
    method: Annotated[str, Meta(max_length=64)]
    id: RequestId | None = None
    params: msgspec.Raw = msgspec.Raw(b"{}")


class Ping(ClientFrame, tag="ping"):
    id: RequestId | None = None


class AiAsk(AskParams, ClientFrame, tag="ai.ask"):
    id: RequestId | None = None


class AiCancel(ClientFrame, tag="ai.cancel"):
    id: RequestId


class AiAttach(ClientFrame, tag="ai.attach"):
    conversation_id: UUID
    id: RequestId | None = None


Frame = Hello | Auth | Subscribe | Unsubscribe | Call | Ping | AiAsk | AiCancel | AiAttach
decode_frame = msgspec.json.Decoder(Frame).decode
decode_hello = msgspec.json.Decoder(Hello).decode


class Envelope(Struct):
    """Read leniently from a frame that failed to decode, to answer with its id."""

    type: Any = None
    id: Any = None


decode_envelope = msgspec.json.Decoder(Envelope).decode
FRAME_TYPES = {"hello", "auth", "subscribe", "unsubscribe", "call", "ping", "ai.ask",
               "ai.cancel", "ai.attach"}  # fmt: skip


# -- server frames ---------------------------------------------------------------------


class Welcome(Struct, tag="welcome", tag_field="type"):
    user_id: UUID
    connection_id: str
    heartbeat_s: int


class Ack(Struct, tag="ack", tag_field="type"):
    id: Any
    result: Any


class Pong(Struct, tag="pong", tag_field="type"):
    id: Any


class Error(Struct, tag="error", tag_field="type"):
    id: Any
    code: str
    message: str


class AuthResult(Struct):
    user_id: UUID
    expires_at: datetime


class SubscribeResult(Struct):
    channel: str
    seq: int


class PresenceSet(Struct, forbid_unknown_fields=True, kw_only=True):
    book_id: UUID
    status: Literal["reading", "idle"]


_encode = msgspec.json.Encoder()


def encode(frame: Any) -> str:
    return _encode.encode(frame).decode()
