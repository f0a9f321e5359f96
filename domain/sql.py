"""Named queries kept in `.sql` files beside the area that owns the rows.

A file holds blocks that start with `-- name: query_name`; `load_queries(__file__)`
called from an area's module reads its `queries.sql` once, at import.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# what operations are handed: a plain connection or one borrowed from a pool
# (the stubs' generic form does not exist at run time, where Litestar reads it)
if TYPE_CHECKING:
    Conn: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:
    Conn = asyncpg.Connection | PoolConnectionProxy


class Connections(Protocol):
    """Where an operation that must not hold a connection throughout (it hashes a
    password for ~165 ms in between) takes one for each step: a pool, or `Single`."""

    def acquire(self) -> AbstractAsyncContextManager[Conn]: ...


class Single:
    """One connection lent as `Connections` (tests in a transaction, scripts)."""

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Conn]:
        yield self._conn


_HEADER = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class Queries:
    def __init__(self, queries: Mapping[str, str]) -> None:
        self._queries = MappingProxyType(dict(queries))

    def __getattr__(self, name: str) -> str:
        try:
            return self._queries[name]
        except KeyError:
            raise AttributeError(f"no query named {name!r}") from None

    def names(self) -> list[str]:
        return list(self._queries)


def parse_queries(text: str) -> dict[str, str]:
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    # parts = [preamble, name1, body1, name2, body2, ...]
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip().rstrip(";")
    return queries


def load_queries(module_file: str, filename: str = "queries.sql", **fragments: str) -> Queries:
    """Read the named queries beside `module_file`; each `{key}` in them is replaced by
    `fragments[key]` (column lists shared with the Structs, never user input)."""
    text = Path(module_file).with_name(filename).read_text(encoding="utf-8")
    for key, fragment in fragments.items():
        text = text.replace("{" + key + "}", fragment)
    return Queries(parse_queries(text))
