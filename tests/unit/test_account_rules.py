from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from domain.accounts import rules
from domain.accounts.models import ProfilePatch, RegisterCommand
from domain.errors import Invalid


def test_lockout_starts_at_the_threshold_and_doubles_to_a_cap() -> None:
    waits = [rules.lockout_seconds(n, 5) for n in range(1, 12)]
    assert waits[:4] == [0, 0, 0, 0]
    assert waits[4:8] == [30, 60, 120, 240]
    assert max(waits) == rules.THROTTLE_CAP_S
    assert rules.lockout_seconds(10_000, 5) == rules.THROTTLE_CAP_S


def test_throttle_counts_login_and_address_separately() -> None:
    keys = rules.throttle_keys("  Alice@Example.COM ", "192.0.2.1", 5)
    assert keys == [("login:alice@example.com", 5), ("ip:192.0.2.1", 20)]
    assert rules.throttle_keys("bob", None, 5) == [("login:bob", 5)]


def test_retry_after_rounds_up_and_is_at_least_one() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert rules.retry_after(now + timedelta(seconds=2.1), now) == 3
    assert rules.retry_after(now, now) == 1


def test_time_zone_check() -> None:
    assert rules.check_time_zone("America/New_York") == "America/New_York"
    with pytest.raises(Invalid) as exc:
        rules.check_time_zone("Atlantis/Capital")
    assert exc.value.field == "time_zone"


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"email":"a@b.c","username":"ab","password":"12345678"}', "$.username"),
        (b'{"email":"a@b.c","username":"a-b-c","password":"12345678"}', "$.username"),
        (b'{"email":"nope","username":"abc","password":"12345678"}', "$.email"),
        (b'{"email":"a@b.c","username":"abc","password":"1234567"}', "$.password"),
    ],
)
def test_register_validation_names_the_field(body: bytes, path: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=path.replace("$", r"\$")):
        msgspec.json.decode(body, type=RegisterCommand)


def test_profile_patch_tells_absent_from_null() -> None:
    patch = msgspec.json.decode(b'{"bio": null}', type=ProfilePatch)
    assert patch.bio is None
    assert patch.first_name is msgspec.UNSET


def test_refresh_tokens_are_stored_hashed() -> None:
    digest = rules.hash_token("abc")
    assert len(digest) == 32 and digest != b"abc"


async def test_an_empty_stored_hash_never_matches() -> None:
    from domain.accounts import passwords

    # the unknown-user path checks a dummy hash; an empty stored hash must not reach it
    assert not await passwords.verify_password("", "not-a-real-password")
    assert not await passwords.verify_password(None, "not-a-real-password")
    real = await passwords.hash_password("right-password")
    assert await passwords.verify_password(real, "right-password")
