"""Sign-in for reading devices that speak kosync and OPDS (KOReader and the like): a
**sync password** the reader sets in BookMind, separate from their account password.

KOReader sends the lowercase hex MD5 of what the reader typed, on every request, often
over plain HTTP: that MD5 is the credential. It is stored only as argon2id of itself,
so the database never holds anything a device could replay. A verified credential is
remembered for a while (argon2 takes ~165 ms here, and KOReader sends one per page
turn); changing the sync password changes the stored hash, which forgets it."""

from __future__ import annotations

import hashlib
import re
import time
from uuid import UUID

from domain.accounts import passwords, rules
from domain.accounts.operations import Q, admit
from domain.errors import Unauthorized
from domain.sql import Connections

MD5_HEX = re.compile(r"[0-9a-f]{32}")
VERIFIED_FOR_S = 600.0
_verified: dict[tuple[str, str], float] = {}  # (stored hash, key) → until
_VERIFIED_MAX = 10_000


def device_key(password: str) -> str:
    """What KOReader sends for `password` (x-auth-key, and OPDS Basic auth's MD5)."""
    return hashlib.md5(password.encode(), usedforsecurity=False).hexdigest()


async def set_sync_password(db: Connections, user_id: UUID, password: str) -> None:
    stored = await passwords.hash_password(device_key(password))
    async with db.acquire() as conn:
        await conn.execute(Q.set_sync_password, user_id, stored)


async def device_sign_in(db: Connections, login: str, key: str, failure_threshold: int) -> UUID:
    """The reader whose sync credentials these are, else Unauthorized. Failed attempts
    are throttled per login like the account's own sign-in (429 past the threshold)."""
    name = rules.normalize_login(login)
    key = key.strip().lower()
    async with db.acquire() as conn:
        row = await conn.fetchrow(Q.sync_login, name)
    stored = row["sync_password_hash"] if row else None
    if row is not None and stored and _verified.get((stored, key), 0.0) > time.monotonic():
        return UUID(str(row["id"]))
    throttle_key = f"sync:{name}"
    async with db.acquire() as conn:
        await admit(conn, [(throttle_key, failure_threshold)])
    well_formed = MD5_HEX.fullmatch(key) is not None
    if not await passwords.verify_password(stored, key if well_formed else "") or not well_formed:
        raise Unauthorized("Unauthorized")
    assert row is not None and stored is not None
    async with db.acquire() as conn:
        await conn.execute(Q.throttle_clear, throttle_key)
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(stored, key)] = time.monotonic() + VERIFIED_FOR_S
    return UUID(str(row["id"]))
