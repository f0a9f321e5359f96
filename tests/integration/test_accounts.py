"""Account operations on a real PostgreSQL (each test rolled back)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import msgspec
import pytest

from domain.accounts import operations as accounts
from domain.accounts.models import LoginCommand, ProfilePatch, RegisterCommand, Session
from domain.accounts.operations import ClientInfo
from domain.errors import Conflict, Invalid, NotFound, RateLimited, Unauthorized
from domain.sql import Conn, Single

CLIENT = accounts.ClientInfo(ip="203.0.113.7", user_agent="pytest")
TTL = 3600


async def _register(conn: Conn, username: str = "Reader_1") -> Session:
    cmd = RegisterCommand(
        email=f"{username}@Example.com", username=username, password="s3cret-pass"
    )
    return await accounts.register(Single(conn), cmd, CLIENT, TTL)


async def test_register_sets_defaults_and_tracks_the_first_sign_in(
    conn: asyncpg.Connection,
) -> None:
    session = await _register(conn)
    user = session.user
    assert user.username == "Reader_1"
    assert user.subscription_tier == "free"
    assert user.reading_preferences["font_family"] == "Georgia"
    assert user.ai_preferences["response_length"] == "detailed"
    assert user.notification_preferences["reading_reminders"] is True
    assert user.sign_in_count == 1
    stored = await conn.fetchval("SELECT encrypted_password FROM users WHERE id = $1", user.id)
    assert stored.startswith("$argon2id$")
    assert "s3cret-pass" not in stored


@pytest.mark.parametrize(
    ("email", "username", "field"),
    [("READER_1@example.COM", "other", "email"), ("new@example.com", "reader_1", "username")],
)
async def test_duplicates_in_another_case_conflict(
    conn: asyncpg.Connection, email: str, username: str, field: str
) -> None:
    await _register(conn)
    with pytest.raises(Conflict) as exc:
        await accounts.register(
            Single(conn),
            RegisterCommand(email=email, username=username, password="x" * 8),
            CLIENT,
            TTL,
        )
    assert exc.value.field == field
    assert await conn.fetchval("SELECT count(*) FROM users") == 1


@pytest.mark.parametrize("login", ["reader_1@example.com", "READER_1", "reader_1"])
async def test_login_by_email_or_username_in_any_case(conn: asyncpg.Connection, login: str) -> None:
    await _register(conn)
    session = await accounts.login(
        Single(conn),
        LoginCommand(login=login, password="s3cret-pass"),
        accounts.ClientInfo(ip="198.51.100.1"),
        refresh_ttl_s=TTL,
        failure_threshold=5,
    )
    row = await conn.fetchrow("SELECT * FROM users WHERE id = $1", session.user.id)
    assert row is not None
    assert row["sign_in_count"] == 2
    assert str(row["current_sign_in_ip"]) == "198.51.100.1"
    assert str(row["last_sign_in_ip"]) == "203.0.113.7"
    assert row["last_sign_in_at"] is not None
    assert row["current_sign_in_at"] >= row["last_sign_in_at"]


async def test_wrong_password_and_unknown_login_fail_alike(conn: asyncpg.Connection) -> None:
    await _register(conn)
    messages = []
    for login, password in (("reader_1", "wrong-password"), ("nobody", "s3cret-pass")):
        with pytest.raises(Unauthorized) as exc:
            await accounts.login(
                Single(conn),
                LoginCommand(login, password),
                CLIENT,
                refresh_ttl_s=TTL,
                failure_threshold=5,
            )
        messages.append(exc.value.message)
    assert messages[0] == messages[1]


async def test_repeated_failures_are_throttled_even_with_the_right_password(
    conn: asyncpg.Connection,
) -> None:
    await _register(conn)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            await accounts.login(
                Single(conn), LoginCommand("reader_1", "nope-nope"), CLIENT, refresh_ttl_s=TTL,
                failure_threshold=3,
            )  # fmt: skip
    with pytest.raises(RateLimited) as exc:
        await accounts.login(
            Single(conn), LoginCommand("reader_1", "s3cret-pass"), CLIENT, refresh_ttl_s=TTL,
            failure_threshold=3,
        )  # fmt: skip
    assert 1 <= exc.value.retry_after_s <= 30


async def test_refresh_rotates_and_a_reused_token_revokes_the_chain(
    conn: asyncpg.Connection,
) -> None:
    first = await _register(conn)
    second = await accounts.refresh(conn, first.refresh_token, CLIENT, TTL)
    assert second.refresh_token != first.refresh_token
    assert second.user.id == first.user.id
    with pytest.raises(Unauthorized):
        await accounts.refresh(conn, first.refresh_token, CLIENT, TTL)
    # the reuse revoked the newer token too: the chain is burned
    with pytest.raises(Unauthorized):
        await accounts.refresh(conn, second.refresh_token, CLIENT, TTL)


async def test_expired_refresh_token_is_refused(conn: asyncpg.Connection) -> None:
    session = await _register(conn)
    await conn.execute("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
    with pytest.raises(Unauthorized, match="expired"):
        await accounts.refresh(conn, session.refresh_token, CLIENT, TTL)


async def test_logout_revokes(conn: asyncpg.Connection) -> None:
    session = await _register(conn)
    await accounts.logout(conn, session.refresh_token)
    await accounts.logout(conn, "never-issued")
    with pytest.raises(Unauthorized):
        await accounts.refresh(conn, session.refresh_token, CLIENT, TTL)


async def test_concurrent_refreshes_of_one_token_yield_one_new_token(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as c:
        session = await _register(c, "racer")

    async def attempt() -> str | None:
        async with pool.acquire() as c:
            try:
                return (await accounts.refresh(c, session.refresh_token, CLIENT, TTL)).refresh_token
            except Unauthorized:
                return None

    results = await asyncio.gather(*(attempt() for _ in range(4)))
    assert sum(r is not None for r in results) == 1


async def test_profile_patch_merges_preferences_and_keeps_absent_fields(
    conn: asyncpg.Connection,
) -> None:
    user = (await _register(conn)).user
    patch = msgspec.json.decode(
        b'{"bio": "Reads at night", "reading_preferences": {"theme": "dark"},'
        b' "time_zone": "Europe/Berlin"}',
        type=ProfilePatch,
    )
    updated = (await accounts.update_profile(Single(conn), user.id, patch, 5)).user
    assert updated.bio == "Reads at night"
    assert updated.time_zone == "Europe/Berlin"
    assert updated.reading_preferences == {**user.reading_preferences, "theme": "dark"}
    assert updated.first_name is None
    cleared = (
        await accounts.update_profile(
            Single(conn), user.id, msgspec.json.decode(b'{"bio": null}', type=ProfilePatch), 5
        )
    ).user
    assert cleared.bio is None
    assert cleared.time_zone == "Europe/Berlin"
    with pytest.raises(Invalid) as exc:
        await accounts.update_profile(
            Single(conn), user.id, ProfilePatch(time_zone="Mars/Olympus"), 5
        )
    assert exc.value.field == "time_zone"


async def test_private_profiles_are_visible_to_their_owner_only(conn: asyncpg.Connection) -> None:
    alice = (await _register(conn, "alice")).user
    bob = (await _register(conn, "bob")).user
    await accounts.update_profile(Single(conn), alice.id, ProfilePatch(public_profile=False), 5)
    with pytest.raises(NotFound):
        await accounts.public_profile(conn, "alice", bob.id)
    assert (await accounts.public_profile(conn, "ALICE", alice.id)).id == alice.id
    assert (await accounts.public_profile(conn, "bob", alice.id)).id == bob.id
    with pytest.raises(NotFound):
        await accounts.public_profile(conn, "carol", alice.id)


async def test_concurrent_guesses_cannot_pass_the_lockout_together(pool: asyncpg.Pool) -> None:
    """Twenty guesses at once: the check-then-act lockout let all twenty be tried. Now
    the threshold's attempts go through and every other one is refused."""
    async with pool.acquire() as c:
        await _register(c, "guessed")

    async def guess(i: int) -> str:
        try:
            await accounts.login(pool, LoginCommand("guessed", f"wrong-{i}"), ClientInfo(ip=None),
                                 refresh_ttl_s=TTL, failure_threshold=5)  # fmt: skip
        except Unauthorized:
            return "tried"
        except RateLimited:
            return "refused"
        return "in"

    outcomes = await asyncio.gather(*(guess(i) for i in range(20)))
    assert outcomes.count("tried") == 5 and outcomes.count("refused") == 15
    async with pool.acquire() as c:
        await c.execute("DELETE FROM users WHERE username = 'guessed'")
        await c.execute("DELETE FROM login_throttles WHERE key = 'login:guessed'")


async def test_a_taken_name_is_refused_before_hashing(conn: asyncpg.Connection) -> None:
    await _register(conn)
    started = time.perf_counter()
    with pytest.raises(Conflict) as exc:
        cmd = RegisterCommand(email="other@example.com", username="READER_1", password="x" * 8)
        await accounts.register(Single(conn), cmd, CLIENT, TTL)
    assert exc.value.field == "username"
    assert time.perf_counter() - started < 0.1  # no argon2 hash (~165 ms) was made
