"""Mail that proves a reader holds an address: password reset and email confirmation.

Each mail carries a single-use token, stored hashed, valid for a while; a reader gets
at most MAILS_PER_HOUR of one kind an hour, so nobody can fill an inbox through us."""

from __future__ import annotations

import secrets
from datetime import timedelta
from uuid import UUID

from domain.accounts import passwords, rules
from domain.accounts.models import Revoked
from domain.accounts.operations import Q
from domain.errors import Conflict, Invalid, RateLimited
from domain.ports import Mail, Mailer
from domain.sql import Conn, Connections

RESET_VALID = timedelta(hours=1)
CONFIRMATION_VALID = timedelta(days=3)
MAILS_PER_HOUR = 3
RESET = "password_reset"
CONFIRMATION = "email_confirmation"


async def request_password_reset(
    db: Connections, mailer: Mailer, email: str, base_url: str
) -> None:
    """Mail a reset link to the account with this address, if there is one. The caller
    answers the same whatever happens here (nobody learns which addresses exist)."""
    async with db.acquire() as conn:
        row = await conn.fetchrow(Q.user_for_mail, rules.normalize_login(email))
        if row is None:
            return
        token = await _issue(conn, row["id"], RESET, row["email"], RESET_VALID)
    if token is None:
        return
    await mailer.send(Mail(
        to=row["email"],
        subject="Reset your BookMind password",
        text=(f"Hello {row['username']},\n\nSomeone (we hope you) asked to reset the password "
              f"of your BookMind account. Choose a new one here:\n\n"
              f"{base_url}/#/reset-password/{token}\n\n"
              f"The link works once, within {_hours(RESET_VALID)}. If you did not ask, "
              "ignore this mail: your password stays as it is.\n"),
    ))  # fmt: skip


async def reset_password(db: Connections, token: str, password: str) -> Revoked:
    """Set the password a reset link was sent for. Every session of the account ends
    (refresh chains revoked; the caller closes its sockets), other reset links die, a
    login lockout on the account is lifted, and the address is confirmed: following the
    link proved it is the reader's."""
    key = rules.hash_token(token)
    async with db.acquire() as conn:
        if await conn.fetchrow(Q.valid_account_token, key, RESET) is None:
            raise _bad_link("reset")
    new_hash = await passwords.hash_password(password)  # no connection held meanwhile
    async with db.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(Q.use_account_token, key, RESET)
        if row is None:  # used by a concurrent request while we hashed
            raise _bad_link("reset")
        user_id = row["user_id"]
        await conn.execute(Q.set_password, user_id, new_hash)
        await conn.execute(Q.revoke_all_tokens, user_id)
        await conn.execute(Q.retire_account_tokens, user_id, RESET)
        await conn.execute(Q.confirm_address, user_id, row["email"])
        for name in await conn.fetchrow(Q.login_names, user_id) or ():
            await conn.execute(Q.throttle_clear, f"login:{name}")
    return Revoked(user_id)


async def send_confirmation(
    db: Connections, mailer: Mailer, user_id: UUID, base_url: str, *, asked: bool = False
) -> None:
    """Mail a confirmation link to the account's address. `asked`: the reader asked for
    it again, and is told (409, 429) when it cannot be sent; otherwise (after sign-up or
    a new address) nothing is raised."""
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT email, username, confirmed_at FROM users WHERE id = $1 AND deleted_at IS NULL",
            user_id,
        )
        if row is None:
            return
        if row["confirmed_at"] is not None:
            if asked:
                raise Conflict("this address is confirmed already")
            return
        token = await _issue(conn, user_id, CONFIRMATION, row["email"], CONFIRMATION_VALID)
    if token is None:
        if asked:
            raise RateLimited("a confirmation mail was sent several times this hour; "
                              "check your inbox and spam folder", retry_after_s=3600)  # fmt: skip
        return
    await mailer.send(Mail(
        to=row["email"],
        subject="Confirm your email address for BookMind",
        text=(f"Hello {row['username']},\n\nConfirm that this address is yours, so that you "
              f"can share quote cards and reset your password by mail:\n\n"
              f"{base_url}/#/confirm-email/{token}\n\n"
              f"The link works within {_hours(CONFIRMATION_VALID)}.\n"),
    ))  # fmt: skip


async def notify_address_changed(mailer: Mailer, old: str, new: str, username: str) -> None:
    """The old address hears that the account moved: if the reader did not do it, that
    is their signal (the change needed the password, which may have leaked)."""
    await mailer.send(Mail(
        to=old,
        subject="Your BookMind email address was changed",
        text=(f"Hello {username},\n\nThe email address of your BookMind account was changed "
              f"to {new}. If you did not do this, reset your password and contact us.\n"),
    ))  # fmt: skip


async def confirm_email(conn: Conn, token: str) -> UUID:
    """Confirm the address a link was sent to; the account's id."""
    async with conn.transaction():
        row = await conn.fetchrow(Q.use_account_token, rules.hash_token(token),
                                  CONFIRMATION)  # fmt: skip
        if row is None:
            raise _bad_link("confirmation")
        if await conn.fetchval(Q.confirm_address, row["user_id"], row["email"]) is None:
            raise Invalid("this link confirms an address the account no longer uses",
                          field="token")  # fmt: skip
    user_id: UUID = row["user_id"]
    return user_id


async def _issue(
    conn: Conn, user_id: UUID, purpose: str, email: str, valid: timedelta
) -> str | None:
    """A new token, or None when this kind of mail went out MAILS_PER_HOUR times
    within the hour. The account's row lock orders concurrent requests, so the count
    holds for them too."""
    token = secrets.token_urlsafe(32)
    async with conn.transaction():
        await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", user_id)
        if await conn.fetchval(Q.mails_sent_recently, user_id, purpose) >= MAILS_PER_HOUR:
            return None
        await conn.execute(Q.insert_account_token, rules.hash_token(token), user_id,
                           purpose, email, valid.total_seconds())  # fmt: skip
    return token


def _bad_link(kind: str) -> Invalid:
    return Invalid(f"this {kind} link is not valid: it was used already, has expired, or "
                   "was copied incompletely", field="token")  # fmt: skip


def _hours(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return "an hour" if hours == 1 else f"{hours} hours" if hours < 48 else f"{hours // 24} days"
