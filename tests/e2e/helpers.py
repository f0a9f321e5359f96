"""Accounts and books for e2e tests, made through the running server (users) and the
database (books, until uploads exist)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.factories import make_book
from tests.services import ServerProcess
from tests.wsclient import WsClient


@dataclass
class Account:
    id: UUID
    username: str
    token: str


async def register(base_url: str) -> Account:
    name = f"u{uuid.uuid4().hex[:12]}"
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", timeout=30) as client:
        resp = await client.post(
            "/auth/register",
            json={"email": f"{name}@example.com", "username": name, "password": "pass-" + name},
        )
    assert resp.status_code == 201, resp.text
    body = resp.json()
    return Account(UUID(body["user"]["id"]), name, body["access_token"])


async def confirm(database_url: str, *accounts: Account) -> None:
    """Confirm the accounts' addresses as following the mailed link would (that path is
    tested by tests/e2e/test_account_mail.py): sharing quote cards needs it."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET confirmed_at = now() WHERE id = ANY($1::uuid[])",
                           [a.id for a in accounts])  # fmt: skip
    finally:
        await conn.close()


async def book_for(database_url: str, owner: UUID, *, public: bool = False) -> UUID:
    conn = await asyncpg.connect(database_url)
    try:
        return await make_book(conn, owner, public=public)
    finally:
        await conn.close()


def highlight_params(book_id: UUID, **extra: object) -> dict[str, object]:
    return {
        "book_id": str(book_id),
        "selected_text": "Call me Ishmael.",
        "page_number": 1,
        "start_offset": 0,
        "end_offset": 16,
        **extra,
    }


async def post_highlight(
    http: httpx.AsyncClient, book: object, text: str, *, public: bool = False, prefix: str = ""
) -> str:
    """Highlight `text` at the start of `book` over REST; its id."""
    made = await http.post(f"{prefix}/books/{book}/highlights", json={
        "selected_text": text, "page_number": 1, "start_offset": 0, "end_offset": len(text),
        "public": public})  # fmt: skip
    assert made.status_code == 201, made.text
    highlight_id: str = made.json()["id"]
    return highlight_id


async def stalled_reader(ws_url: str, account: Account, device: str) -> ClientConnection:
    """A signed-in socket that stops reading while one message waits (max_queue=1): the
    server's buffer for it fills, as for a phone that lost its signal."""
    ws = await connect(ws_url, compression=None, max_queue=1, max_size=None)
    await ws.send(json.dumps({"type": "hello", "token": account.token, "device": device}))
    return ws


BIG_NOTE = "n" * 9000  # big events fill the socket buffers quickly


async def upload_ready(base_url: str, ws_url: str, account: Account, path: Path,
                       timeout: float = 180) -> str:  # fmt: skip
    """Upload a corpus file over HTTP and wait for its `book.ready`; the book's id."""
    ws = WsClient(ws_url, account.token, "uploader")
    await ws.open()
    headers = {"Authorization": f"Bearer {account.token}"}
    async with httpx.AsyncClient(base_url=base_url + "/api/v1", headers=headers,
                                 timeout=60) as http:  # fmt: skip
        made = await http.post("/books", files={"file": (path.name, path.read_bytes())})
    assert made.status_code == 202, made.text
    book_id: str = made.json()["id"]
    done = await ws.wait_for(
        lambda f: (
            f.get("event") in {"book.ready", "book.failed"}
            and f["data"].get("id", f["data"].get("book_id")) == book_id
        ),
        timeout,
    )
    assert done["event"] == "book.ready", done
    await ws.close()
    return book_id


SYNC_PASSWORD = "e-ink and paper"


async def kosync_reader(server: ServerProcess) -> Account:
    """A new reader with SYNC_PASSWORD set for devices (kosync, OPDS)."""
    account = await register(server.base_url)
    async with httpx.AsyncClient(
        base_url=server.base_url + "/api/v1",
        timeout=30,
        headers={"Authorization": f"Bearer {account.token}"},
    ) as http:
        made = await http.put("/users/me/sync-password", json={"password": SYNC_PASSWORD})
    assert made.status_code == 204, made.text
    return account
