"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, so tests read
the mail BookMind sends exactly as a reader's inbox would get it."""

from __future__ import annotations

import asyncio
import email
import re
import threading
import time
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.services import free_port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, address: str, subject: str, timeout: float = 10) -> Message:
        """The newest mail to `address` whose subject contains `subject`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.to(address) if subject in str(m["Subject"])]
            if found:
                return found[-1]
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {address} about {subject!r} within {timeout}s; "
                             f"got {[str(m['Subject']) for m in self.to(address)]}")  # fmt: skip


def text_of(message: Message) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    return body.decode()


def link_in(message: Message, fragment: str) -> str:
    """The link in a mail's text whose path holds `fragment` (`#/reset-password/`)."""
    match = re.search(r"https?://\S*" + re.escape(fragment) + r"\S+", text_of(message))
    assert match, f"no {fragment} link in: {text_of(message)}"
    return match.group(0)


def token_in(message: Message, fragment: str) -> str:
    return link_in(message, fragment).rsplit("/", 1)[1]
