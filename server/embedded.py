"""The embedded defaults: PostgreSQL + pgvector from pgserver, a JWT secret kept on disk.

With no environment set, `make run` gets a full database under `./.bookmind/pg`
without installing anything system-wide. pgserver keeps one server per data folder and
counts the processes holding it, so two `make run` share one PostgreSQL.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DATABASE_NAME = "bookmind"


def start_postgres(data_dir: Path, *, stop_on_exit: bool = True) -> Any:
    """Start (or join) the pgserver PostgreSQL under `data_dir/pg`; return its handle."""
    import pgserver

    pgdata = (data_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(  # type: ignore[attr-defined]
        pgdata, cleanup_mode="stop" if stop_on_exit else None
    )
    return server


def ensure_database(server: Any, name: str) -> str:
    """Create database `name` on an embedded server if missing; return its URL."""
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}';")
    if "(1 row)" not in exists:
        with contextlib.suppress(Exception):  # a concurrent starter may have won the race
            server.psql(f'CREATE DATABASE "{name}";')
    return str(server.get_uri(name))


def embedded_database_url(data_dir: Path, *, stop_on_exit: bool = True) -> tuple[str, Any]:
    server = start_postgres(data_dir, stop_on_exit=stop_on_exit)
    url = ensure_database(server, DATABASE_NAME)
    log.info("embedded postgres ready", extra={"url": url})
    return url, server


def jwt_secret(data_dir: Path) -> str:
    """The signing secret kept in `data_dir`, made once, shared by every local process."""
    path = data_dir / "jwt_secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".jwt_secret.{secrets.token_hex(8)}"
        # private from its first byte: created 0600, never readable by others in between
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48))
        # link() refuses to overwrite: whichever process links first wins, atomically
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    return path.read_text(encoding="ascii").strip()
