"""argon2id password hashing, kept off the event loop (a hash takes ~165 ms here)."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) defaults


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no stored hash (unknown user) a dummy hash is
    still checked, so the answer takes as long either way."""
    target = stored_hash or _dummy_hash()
    try:
        ok = await asyncio.to_thread(_hasher.verify, target, password)
    except (VerificationError, InvalidHashError):
        return False
    # an empty stored hash is no password at all: it never matches (it would otherwise
    # verify the dummy password)
    return bool(ok) and bool(stored_hash)


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("not-a-real-password")
