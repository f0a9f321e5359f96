"""Account operations: register, log in, rotate and revoke refresh tokens, profiles.

Each takes the connection it works on; none knows about HTTP."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from domain.accounts import passwords, rules
from domain.accounts.models import (
    PUBLIC_USER_COLUMNS,
    USER_COLUMNS,
    LoginCommand,
    PasswordChange,
    ProfilePatch,
    PublicUser,
    RegisterCommand,
    Revoked,
    Session,
    User,
    public_user_from_row,
    user_from_row,
)
from domain.books import operations as books
from domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    RateLimited,
    TokenReused,
    Unauthorized,
)
from domain.limits import check_json
from domain.patches import patch_fields
from domain.ports import FileStore
from domain.social.files import quote_files_prefix
from domain.sql import Conn, Connections, load_queries

Q = load_queries(__file__, user_columns=USER_COLUMNS, public_columns=PUBLIC_USER_COLUMNS)

BAD_CREDENTIALS = "wrong login or password"
# a removed account can come back by signing in this long; then it is purged
REMOVAL_GRACE = timedelta(days=30)
MERGED_FIELDS = (
    "reading_preferences",
    "ai_preferences",
    "notification_preferences",
    "onboarding_completed",
)


class ClientInfo(msgspec.Struct, frozen=True):
    ip: str | None = None
    user_agent: str | None = None


async def register(
    db: Connections, cmd: RegisterCommand, client: ClientInfo, refresh_ttl_s: int
) -> Session:
    """Create the account with default preferences and sign it in. A taken email or
    username is refused before the password is hashed (the unique index still decides a
    race); no connection is held while it is."""
    async with db.acquire() as conn:
        taken = await conn.fetchval(Q.taken, cmd.email.strip(), cmd.username)
    if taken is not None:
        raise Conflict(f"that {taken} is already taken", field=taken)
    password_hash = await passwords.hash_password(cmd.password)
    try:
        async with db.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                Q.insert_user,
                cmd.email.strip(),
                cmd.username,
                password_hash,
                rules.DEFAULT_READING_PREFERENCES,
                rules.DEFAULT_AI_PREFERENCES,
                rules.DEFAULT_NOTIFICATION_PREFERENCES,
                client.ip,
            )
            user = user_from_row(row)
            if cmd.referral_code:
                await conn.execute(Q.credit_referral, user.id, cmd.referral_code)
            family = uuid.uuid4()
            token, _ = await _issue_refresh_token(conn, user.id, family, client, refresh_ttl_s)
    except asyncpg.UniqueViolationError as exc:
        field = "email" if "email" in (exc.constraint_name or "") else "username"
        raise Conflict(f"that {field} is already taken", field=field) from None
    return Session(user=user, refresh_token=token, family_id=family)


async def login(
    db: Connections,
    cmd: LoginCommand,
    client: ClientInfo,
    *,
    refresh_ttl_s: int,
    failure_threshold: int,
) -> Session:
    """Check the password; the same error for an unknown login and a wrong password.
    Attempts for one login or one address are counted before the password is checked,
    so concurrent guesses cannot all pass a check made before any failed: past the
    threshold only one attempt per lockout period goes through. No connection is held
    while the password is hashed."""
    keys = rules.throttle_keys(cmd.login, client.ip, failure_threshold)
    async with db.acquire() as conn:
        await admit(conn, keys)
        row = await conn.fetchrow(Q.user_for_login, rules.normalize_login(cmd.login))
    stored = row["encrypted_password"] if row else None
    if not await passwords.verify_password(stored, cmd.password):
        raise Unauthorized(BAD_CREDENTIALS)  # the attempt was counted already

    assert row is not None and stored is not None
    rehashed = (
        await passwords.hash_password(cmd.password) if passwords.needs_rehash(stored) else None
    )
    async with db.acquire() as conn, conn.transaction():
        user = user_from_row(await conn.fetchrow(Q.track_sign_in, row["id"], client.ip, rehashed))
        family = uuid.uuid4()
        token, _ = await _issue_refresh_token(conn, user.id, family, client, refresh_ttl_s)
        await conn.execute(Q.throttle_clear, keys[0][0])
        for key, threshold in keys[1:]:  # an address keeps its failures, not this success
            await conn.execute(Q.throttle_succeeded, key, threshold)
    return Session(user=user, refresh_token=token, family_id=family)


async def admit(conn: Conn, keys: list[tuple[str, int]]) -> None:
    """Count one attempt on each key, or refuse it (429). Each step is one atomic
    statement: at or past its threshold an attempt must claim the key's next lockout
    (only one concurrent attempt can), and while a key is locked nothing passes."""
    locked = await conn.fetchval(Q.throttle_locks, [k for k, _ in keys])
    if locked is None:
        window_s = rules.THROTTLE_WINDOW.total_seconds()
        for key, threshold in keys:
            attempts = await conn.fetchval(Q.throttle_attempt, key, window_s)
            wait = rules.lockout_seconds(attempts, threshold)
            if wait and await conn.fetchval(Q.throttle_claim, key, float(wait)) is None:
                # another attempt claimed this lockout first: this one waits it out
                locked = await conn.fetchval(Q.throttle_locks, [key]) or datetime.now(UTC)
                break
    if locked is not None:
        wait_s = rules.retry_after(locked, datetime.now(UTC))
        raise RateLimited("too many failed logins; try again later", retry_after_s=wait_s)


async def refresh(
    conn: Conn, refresh_token: str, client: ClientInfo, refresh_ttl_s: int
) -> Session:
    """Trade a refresh token for a new one (rotation). Presenting a token that was
    already rotated means it leaked: the whole chain is revoked."""
    reused = False
    async with conn.transaction():
        row = await conn.fetchrow(Q.refresh_token_for_update, rules.hash_token(refresh_token))
        if row is None:
            raise Unauthorized("invalid refresh token")
        if row["expires_at"] <= datetime.now(UTC):
            raise Unauthorized("refresh token expired")
        if row["revoked_at"] is not None:
            # committed before refusing: the revocation must outlive the error
            await conn.execute(Q.revoke_token_family, row["family_id"])
            reused = True
        else:
            token, new_id = await _issue_refresh_token(
                conn, row["user_id"], row["family_id"], client, refresh_ttl_s
            )
            await conn.execute(Q.revoke_refresh_token, row["id"], new_id)
            user = await get_user(conn, row["user_id"])
    if reused:
        raise TokenReused("refresh token already used", user_id=row["user_id"],
                          family_id=row["family_id"])  # fmt: skip
    return Session(user=user, refresh_token=token, family_id=row["family_id"])


async def change_password(
    db: Connections, user_id: UUID, cmd: PasswordChange, failure_threshold: int
) -> Revoked:
    """Set a new password and end every session of the account: each refresh chain is
    revoked, and the caller closes its sockets."""
    key = await _confirm_password(
        db, user_id, cmd.current_password, "current_password", failure_threshold
    )
    new_hash = await passwords.hash_password(cmd.new_password)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(Q.set_password, user_id, new_hash)
        await conn.execute(Q.revoke_all_tokens, user_id)
        await conn.execute(Q.throttle_clear, key)
    return Revoked(user_id)


async def remove_account(
    db: Connections, user_id: UUID, password: str, failure_threshold: int
) -> Revoked:
    """Hide the account at once (its profile, follows and feed presence; its sockets
    close), revoke its sessions; signing in within REMOVAL_GRACE restores it, after
    which `purge_removed` deletes its data."""
    key = await _confirm_password(db, user_id, password, "password", failure_threshold)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(Q.remove_account, user_id)
        await conn.execute(Q.revoke_all_tokens, user_id)
        await conn.execute(Q.throttle_clear, key)
    return Revoked(user_id)


async def _confirm_password(
    db: Connections, user_id: UUID, password: str, field: str, failure_threshold: int
) -> str:
    """The signed-in reader's password, checked before an account change: 403 naming
    `field` when wrong, attempts throttled like logins (a stolen access token cannot
    guess it), no connection held while hashing. Returns the throttle key to clear."""
    key = f"password:{user_id}"
    async with db.acquire() as conn:
        await admit(conn, [(key, failure_threshold)])
        stored = await conn.fetchval(Q.password_of, user_id)
    if not await passwords.verify_password(stored, password):
        raise Forbidden(f"the {field.replace('_', ' ')} is wrong", field=field)
    return key


async def purge_removed(conn: Conn, files: FileStore, batch: int = 100) -> tuple[int, list[Any]]:
    """Delete the accounts whose grace period is over, with their data and files, and
    only theirs: a book of theirs that others have data on stays, hidden and without an
    owner; others' shares of their highlights keep their snapshot. Returns the count
    and the events to publish (book.deleted to the readers of their books)."""
    events: list[Any] = []
    rows = await conn.fetch(Q.removed_accounts, REMOVAL_GRACE.days, batch)
    for row in rows:
        user_id = row["id"]
        events += await books.retire_all(conn, files, user_id)
        shares = [r["id"] for r in await conn.fetch(Q.shares_of, user_id)]
        await conn.execute(Q.purge_account, user_id)
        for share_id in shares:  # after the rows: a failure leaves files, never dangling rows
            await files.delete_prefix(quote_files_prefix(share_id))
    return len(rows), events


async def logout(conn: Conn, refresh_token: str) -> Revoked | None:
    """Revoke the token's chain; an unknown token is already as good as revoked."""
    row = await conn.fetchrow(
        "SELECT user_id, family_id FROM refresh_tokens WHERE token_hash = $1",
        rules.hash_token(refresh_token),
    )
    if row is None:
        return None
    await conn.execute(Q.revoke_token_family, row["family_id"])
    return Revoked(row["user_id"], row["family_id"])


async def get_user(conn: Conn, user_id: UUID) -> User:
    row = await conn.fetchrow(Q.user_by_id, user_id)
    if row is None:
        raise NotFound("no such user")
    return user_from_row(row)


class ProfileChange(msgspec.Struct, frozen=True):
    """A changed profile, and its old address when the email changed (it is told)."""

    user: User
    old_email: str | None = None


async def update_profile(db: Connections, user_id: UUID, patch: ProfilePatch,
                         failure_threshold: int) -> ProfileChange:  # fmt: skip
    """Names, bio, preferences and onboarding as given; a new username or email must be
    free (409), and a new email needs the current password (403 when wrong, throttled like
    logins) and is unconfirmed until its link is followed."""
    given, value = patch_fields(patch)
    time_zone = value("time_zone")
    if isinstance(time_zone, str):
        rules.check_time_zone(time_zone)
    for name in ("ai_preferences", "notification_preferences"):
        if given(name):
            rules.check_preferences(name, value(name))
    email, username = value("email"), value("username")
    async with db.acquire() as conn:
        old_email = await conn.fetchval(Q.email_of, user_id)
    changing_email = isinstance(email, str) and email.strip().lower() != (old_email or "").lower()
    if changing_email:
        if patch.current_password is msgspec.UNSET:
            raise Invalid("changing the email needs current_password", field="current_password")
        key = await _confirm_password(db, user_id, patch.current_password, "current_password",
                                      failure_threshold)  # fmt: skip
    try:
        async with db.acquire() as conn, conn.transaction():
            await _check_merged_preferences(conn, user_id, patch)
            if email is not None or username is not None:
                await conn.execute(Q.change_identity, user_id,
                                   email.strip() if changing_email else None, username)  # fmt: skip
            if changing_email:
                await conn.execute(Q.throttle_clear, key)
            row = await conn.fetchrow(
                Q.update_profile, user_id, given("first_name"), value("first_name"),
                given("last_name"), value("last_name"), given("bio"), value("bio"),
                given("avatar_url"), value("avatar_url"), time_zone,
                value("reading_preferences"), value("ai_preferences"),
                value("notification_preferences"), value("public_profile"),
                value("onboarding_completed"),
            )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        field = "email" if "email" in (exc.constraint_name or "") else "username"
        raise Conflict(f"that {field} is already taken", field=field) from None
    if row is None:
        raise NotFound("no such user")
    return ProfileChange(user_from_row(row), old_email if changing_email else None)


async def _check_merged_preferences(conn: Conn, user_id: UUID, patch: ProfilePatch) -> None:
    """Preferences are merged key by key, so small patches could grow them without end:
    the merged object is held to the same bound as one patch."""
    for name in MERGED_FIELDS:
        given = getattr(patch, name)
        if given is msgspec.UNSET or not given:
            continue
        stored = await conn.fetchval(f"SELECT {name} FROM users WHERE id = $1", user_id)
        try:
            check_json(name, {**(stored or {}), **given})
        except ValueError as exc:
            raise Invalid(str(exc).replace("`", ""), field=name) from None


async def public_profile(conn: Conn, username: str, viewer: UUID) -> PublicUser:
    """A user's public face, by username or id; a private profile is visible to its owner
    alone. By id, so that a client holding only a `user_id` (on a public highlight) can
    name its reader."""
    try:
        user_id: UUID | None = UUID(username)
    except ValueError:
        user_id = None
    row = await conn.fetchrow(Q.public_user_by_username, username, user_id)
    if row is None or (not row["public_profile"] and row["id"] != viewer):
        raise NotFound("no such user")
    return public_user_from_row({k: row[k] for k in PublicUser.__struct_fields__})


async def _issue_refresh_token(
    conn: Conn,
    user_id: UUID,
    family_id: UUID,
    client: ClientInfo,
    ttl_s: int,
) -> tuple[str, UUID]:
    token = secrets.token_urlsafe(32)
    token_id: UUID = await conn.fetchval(
        Q.insert_refresh_token,
        user_id,
        family_id,
        rules.hash_token(token),
        float(ttl_s),
        client.user_agent,
        client.ip,
    )
    return token, token_id


async def record_activity(conn: Conn, seen: dict[UUID, datetime]) -> None:
    """When each reader was last seen doing something (a request, a socket frame)."""
    await conn.execute(Q.record_activity, list(seen), list(seen.values()))
