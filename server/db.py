"""The asyncpg pool and its codecs: jsonb as Python values (msgspec), vectors as pgvector."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from pgvector.asyncpg import register_vector

_encode = msgspec.json.Encoder()


def _dumps(value: Any) -> str:
    return _encode.encode(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=_dumps, decoder=msgspec.json.decode, schema="pg_catalog"
        )
    await register_vector(conn)


async def _keep_session(_: asyncpg.Connection) -> None:
    """Released connections are not reset: asyncpg's default reset costs a round trip per
    release, and our code leaves no session state behind (no SET, LISTEN or session
    advisory locks on pooled connections). asyncpg still rolls back an open transaction."""


async def create_pool(database_url: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=_keep_session,
    )
    assert pool is not None
    return pool
