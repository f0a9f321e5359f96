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


async def create_pool(database_url: str, *, min_size: int, max_size: int) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=init_connection
    )
    assert pool is not None
    return pool
