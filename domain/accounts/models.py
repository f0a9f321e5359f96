"""Account entities and the commands that change them, as msgspec Structs.

Constraints declared here are the validation: msgspec names the failing field."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from domain.accounts.tiers import Tier, asks_remaining
from domain.limits import BoundedJson

Username = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_]{3,30}$")]
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
Password = Annotated[str, Meta(min_length=8, max_length=256)]
Name = Annotated[str, Meta(max_length=50)]
Prefs = dict[str, Any]


class RegisterCommand(Struct, forbid_unknown_fields=True):
    email: Email
    username: Username
    password: Password
    referral_code: Annotated[str, Meta(max_length=64)] | None = None


class LoginCommand(Struct, forbid_unknown_fields=True):
    login: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class PasswordChange(Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, Meta(min_length=1, max_length=256)]
    new_password: Password


class SyncPasswordSet(Struct, forbid_unknown_fields=True):
    """The password reading devices (KOReader, OPDS apps) sign in with."""

    password: Password


class AccountRemoval(Struct, forbid_unknown_fields=True):
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class RefreshCommand(Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, Meta(min_length=1, max_length=512)]


class ProfilePatch(BoundedJson, forbid_unknown_fields=True, omit_defaults=True):
    """Fields absent from the request stay as they are; preference objects (and the
    onboarding steps) are merged key by key into the stored ones. A new email needs the
    current password."""

    email: Email | UnsetType = UNSET
    username: Username | UnsetType = UNSET
    current_password: Annotated[str, Meta(min_length=1, max_length=256)] | UnsetType = UNSET

    first_name: Name | UnsetType | None = UNSET
    last_name: Name | UnsetType | None = UNSET
    bio: Annotated[str, Meta(max_length=2000)] | UnsetType | None = UNSET
    avatar_url: Annotated[str, Meta(max_length=2048)] | UnsetType | None = UNSET
    time_zone: Annotated[str, Meta(min_length=1, max_length=64)] | UnsetType = UNSET
    reading_preferences: Prefs | UnsetType = UNSET
    ai_preferences: Prefs | UnsetType = UNSET
    notification_preferences: Prefs | UnsetType = UNSET
    public_profile: bool | UnsetType = UNSET
    onboarding_completed: Prefs | UnsetType = UNSET


class PasswordResetRequest(Struct, forbid_unknown_fields=True):
    email: Annotated[str, Meta(min_length=1, max_length=254)]


class PasswordReset(Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=128)]
    password: Password


class EmailConfirmation(Struct, forbid_unknown_fields=True):
    token: Annotated[str, Meta(min_length=1, max_length=128)]


class PublicUser(Struct, kw_only=True):
    id: UUID
    username: str
    first_name: str | None
    last_name: str | None
    bio: str | None
    avatar_url: str | None
    followers_count: int
    following_count: int
    quotes_shared_count: int
    created_at: datetime


class User(PublicUser, kw_only=True):
    """The account as its owner sees it. `subscription_tier` is the tier in force (a
    paid one past its expiry is free)."""

    email: str
    confirmed_at: datetime | None
    subscription_tier: Tier
    subscription_expires_at: datetime | None
    reading_preferences: Prefs
    ai_preferences: Prefs
    notification_preferences: Prefs
    public_profile: bool
    time_zone: str
    sign_in_count: int
    current_sign_in_at: datetime | None
    last_sign_in_at: datetime | None
    last_active_at: datetime | None
    onboarding_completed: Prefs
    # AI questions left today (UTC); null: no limit
    ai_queries_remaining_today: int | None
    updated_at: datetime


class Session(Struct, kw_only=True):
    """What a successful register, login or refresh yields (before the access token)."""

    user: User
    refresh_token: str
    # the login this session belongs to (its chain of refresh tokens): access tokens carry
    # it, so revoking the chain closes exactly that login's sockets
    family_id: UUID


class Revoked(Struct, frozen=True):
    """Sessions that just ended: one login's (`family_id`), or all of a user's (None)."""

    user_id: UUID
    family_id: UUID | None = None


def to_public(user: User) -> PublicUser:
    fields = {f: getattr(user, f) for f in PublicUser.__struct_fields__}
    return PublicUser(**fields)


# columns a User is read from: computed ones by their SQL, the rest as stored
_COMPUTED = {
    "subscription_tier": "effective_tier(subscription_tier, subscription_expires_at)",
    "ai_queries_remaining_today": "ai_asks_today(id)",  # asked so far; user_from_row subtracts
}
USER_COLUMNS = ", ".join(
    f"{_COMPUTED[f]} AS {f}" if f in _COMPUTED else f for f in User.__struct_fields__
)
PUBLIC_USER_COLUMNS = ", ".join(PublicUser.__struct_fields__)


def user_from_row(row: Any) -> User:
    fields = dict(row)
    fields["ai_queries_remaining_today"] = asks_remaining(
        fields["subscription_tier"], fields["ai_queries_remaining_today"]
    )
    return msgspec.convert(fields, User)


def public_user_from_row(row: Any) -> PublicUser:
    return msgspec.convert(dict(row), PublicUser)
