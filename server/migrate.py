"""Apply `migrations/NNNN_name.sql` in order: one transaction each, under an advisory
lock so concurrent starters are safe, each recorded with its checksum.

An applied file whose text has changed is an error: migrations are forward only.
Run as `python -m server.migrate`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# any fixed number will do; it only has to be the same for every migrator
ADVISORY_LOCK_KEY = 0x626F6F6B6D696E64  # "bookmind"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    name: str
    sql: str
    checksum: str


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        raw = path.read_bytes()
        found.append(
            Migration(match.group(1), path.name, raw.decode(), hashlib.sha256(raw).hexdigest())
        )
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


async def apply_migrations(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply what is pending on `conn`; return the names applied (empty when up to date)."""
    migrations = load_migrations(directory)
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
        applied = {r["version"]: r for r in rows}
        for m in migrations:
            done = applied.get(m.version)
            if done is not None:
                if done["checksum"] != m.checksum:
                    raise MigrationError(
                        f"{m.name} was changed after it was applied "
                        f"(recorded {done['checksum'][:12]}, now {m.checksum[:12]}); "
                        "add a new migration instead"
                    )
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    m.version,
                    m.name,
                    m.checksum,
                )
            log.info("applied migration %s", m.name)
            applied_now.append(m.name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    return applied_now


async def migrate(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return await apply_migrations(conn)
    finally:
        await conn.close()


def main() -> int:
    from server.logs import configure_logging
    from server.settings import Settings

    settings = Settings.from_env()
    configure_logging(settings)
    url = settings.database_url
    handle = None
    if url is None:
        from server.embedded import embedded_database_url

        url, handle = embedded_database_url(settings.data_dir)
    try:
        names = asyncio.run(migrate(url))
    except MigrationError as exc:
        log.error("%s", exc)
        return 1
    finally:
        if handle is not None:
            handle.cleanup()
    log.info("migrations up to date (%d applied now)", len(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
