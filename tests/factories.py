"""Rows for tests, inserted directly (no password hashing, no HTTP)."""

from __future__ import annotations

import uuid
from uuid import UUID

from domain.sql import Conn


async def make_user(conn: Conn, name: str | None = None, *, public: bool = True) -> UUID:
    name = name or f"u{uuid.uuid4().hex[:10]}"
    user_id: UUID = await conn.fetchval(
        "INSERT INTO users (email, username, public_profile) VALUES ($1, $2, $3) RETURNING id",
        f"{name}@example.com",
        name,
        public,
    )
    return user_id


async def make_book(
    conn: Conn,
    owner: UUID,
    *,
    title: str = "A Book",
    public: bool = False,
    status: str = "completed",
) -> UUID:
    book_id: UUID = await conn.fetchval(
        """INSERT INTO books (user_id, title, visibility, processing_status, file_type)
           VALUES ($1, $2, $3, $4, 'epub') RETURNING id""",
        owner,
        title,
        "public" if public else "private",
        status,
    )
    return book_id
