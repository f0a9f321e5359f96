"""A call's ack and the events it publishes reach each socket in one write (`with
corked:`), in the order they were given; outside such a block a frame is written at
once. A socket without room gets them through its queue, still in order, and a close
comes after every frame given before it."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from server.hub.connection import CLOSE_POLICY, Connection, corked
from server.hub.direct import text_frame, text_of


class Socket:
    """Stands for uvicorn's transport: records each direct write; `room` says whether
    its buffer is below the high-water mark."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.room = True
        self.asgi: list[dict[str, Any]] = []
        self.sent_one = asyncio.Event()

    def try_write(self, framed: bytes) -> bool:
        if not self.room:
            return False
        self.writes.append(framed)
        return True

    async def send(self, message: dict[str, Any]) -> None:
        await asyncio.sleep(0)  # a send through ASGI takes turns of the loop
        self.asgi.append(message)
        self.sent_one.set()


def _connection(socket: Socket, queue_size: int = 100) -> Connection:
    conn = Connection("c1", uuid.uuid4(), "phone", socket.send, queue_size, profile=None)
    conn._direct = socket  # type: ignore[assignment]  # what uvicorn's socket would give
    return conn


async def test_a_calls_ack_and_events_are_one_write_per_socket() -> None:
    phone, tablet = Socket(), Socket()
    on_phone, on_tablet = _connection(phone), _connection(tablet)
    with corked:
        on_phone.push('{"ack":1}')  # the caller's ack, then its event to each device
        on_phone.push('{"event":1}')
        on_tablet.push('{"event":1}')
        assert phone.writes == [] and tablet.writes == []  # held until the block ends
    assert phone.writes == [text_frame('{"ack":1}') + text_frame('{"event":1}')]
    assert tablet.writes == [text_frame('{"event":1}')]


async def test_outside_a_block_each_frame_is_written_at_once() -> None:
    socket = Socket()
    conn = _connection(socket)
    conn.push('{"token":1}')
    assert socket.writes == [text_frame('{"token":1}')]
    conn.push('{"token":2}')
    assert socket.writes[1:] == [text_frame('{"token":2}')]


async def test_without_room_the_frames_go_through_the_queue_in_order() -> None:
    socket = Socket()
    socket.room = False
    conn = _connection(socket)
    with corked:
        for i in range(3):
            conn.push(f'{{"n":{i}}}')
    await socket.sent_one.wait()  # the queue's writer has sent the first
    socket.room = True
    conn.push('{"n":3}')  # behind the queued ones, never ahead of them
    await conn.wait_closed()  # the writer drains the queue, then ends
    assert [m["text"] for m in socket.asgi] == [f'{{"n":{i}}}' for i in range(4)]
    assert socket.writes == []
    conn.push('{"n":4}')  # the queue is gone: written directly again
    assert socket.writes == [text_frame('{"n":4}')]


async def test_a_full_queue_closes_the_slow_reader() -> None:
    socket = Socket()
    socket.room = False
    conn = _connection(socket, queue_size=2)
    with corked:
        for i in range(5):
            conn.push(f'{{"n":{i}}}')
    await conn.wait_closed()
    assert socket.asgi[-1]["type"] == "websocket.close" and socket.asgi[-1]["code"] == 1013


async def test_a_close_comes_after_the_frames_given_before_it() -> None:
    socket = Socket()
    conn = _connection(socket)
    with corked:
        conn.push('{"last":1}')
        conn.close(CLOSE_POLICY, "rate limit")
    await conn.wait_closed()
    assert [m["type"] for m in socket.asgi] == ["websocket.send", "websocket.close"]
    assert socket.asgi[0]["text"] == '{"last":1}'
    assert socket.writes == []  # nothing written after the close


def test_a_queued_frame_keeps_its_text_whatever_its_length() -> None:
    """Held frames are kept as their bytes on the wire; the queue gets their text back,
    across the three sizes of a frame's length field."""
    for text in ["", "é" * 62, "x" * 125, "x" * 126, "é" * 40_000, "x" * 65_536, "y" * 200_000]:
        assert text_of(text_frame(text)) == text
