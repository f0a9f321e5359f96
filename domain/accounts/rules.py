"""Pure account rules: no I/O, tested without services."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import Invalid

DEFAULT_READING_PREFERENCES: dict[str, Any] = {
    "theme": "light",
    "font_size": 16,
    "font_family": "Georgia",
    "line_spacing": 1.5,
}
DEFAULT_AI_PREFERENCES: dict[str, Any] = {
    "response_length": "detailed",
    "auto_suggestions": True,
    "voice_enabled": False,
}
DEFAULT_NOTIFICATION_PREFERENCES: dict[str, Any] = {
    "reading_reminders": True,
    "social_notifications": True,
    "ai_suggestions": True,
    "reminder_hour": 19,  # in the reader's time zone
}

# The preference keys the server acts on, and the values each may take (other keys are
# the clients' own and kept as they are)
_ACTING_PREFERENCES: dict[str, dict[str, tuple[str, Any]]] = {
    "ai_preferences": {
        "response_length": ("brief or detailed", lambda v: v in ("brief", "detailed")),
        "auto_suggestions": ("true or false", lambda v: isinstance(v, bool)),
    },
    "notification_preferences": {
        "reading_reminders": ("true or false", lambda v: isinstance(v, bool)),
        "social_notifications": ("true or false", lambda v: isinstance(v, bool)),
        "ai_suggestions": ("true or false", lambda v: isinstance(v, bool)),
        "reminder_hour": (
            "an hour of the day, 0 to 23",
            lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 23,
        ),
    },
}


def check_preferences(name: str, given: dict[str, Any]) -> None:
    """The keys the server acts on must hold values it understands (422 naming the key)."""
    for key, (expected, ok) in _ACTING_PREFERENCES.get(name, {}).items():
        if key in given and not ok(given[key]):
            raise Invalid(f"{name}.{key} is {expected}", field=f"{name}.{key}")


# Failed logins: counted per login name and per client address within a window; past
# the threshold each further failure doubles the wait, up to the cap.
THROTTLE_WINDOW = timedelta(minutes=15)
THROTTLE_BASE_S = 30
THROTTLE_CAP_S = 15 * 60
IP_THRESHOLD_FACTOR = 4


def normalize_login(login: str) -> str:
    """Emails and usernames are unique case-insensitively, so they are matched lowered."""
    return login.strip().lower()


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {name!r}", field="time_zone") from None
    return name


def lockout_seconds(failures: int, threshold: int) -> int:
    """Seconds a key stays locked after its `failures`-th failure in the window."""
    if failures < threshold:
        return 0
    return min(THROTTLE_CAP_S, THROTTLE_BASE_S << min(failures - threshold, 20))


def throttle_keys(login: str, ip: str | None, threshold: int) -> list[tuple[str, int]]:
    """The keys a login attempt counts against, each with its threshold."""
    keys = [(f"login:{normalize_login(login)}", threshold)]
    if ip:
        keys.append((f"ip:{ip}", threshold * IP_THRESHOLD_FACTOR))
    return keys


def retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


def hash_token(token: str) -> bytes:
    """Refresh and mailed tokens are random, so a fast hash keeps them unusable at rest."""
    return hashlib.sha256(token.encode()).digest()
