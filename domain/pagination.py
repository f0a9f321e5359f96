"""Cursor pages, newest first: the cursor is the (created_at, id) of the last item."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

import msgspec

from domain.errors import Invalid

T = TypeVar("T")
Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
DEFAULT_LIMIT = 20


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, item_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        stamp, item_id = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(stamp), UUID(item_id)
    except (ValueError, UnicodeDecodeError):
        raise Invalid("malformed cursor", field="cursor") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= 100:
        raise Invalid("limit must be 1 to 100", field="limit")
    return limit


def page_of(items: list[T], limit: int, key_of: Callable[[T], tuple[datetime, UUID]]) -> Page[T]:
    """`items` fetched with limit + 1: the extra one only says a next page exists."""
    more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=encode_cursor(*key_of(items[-1])) if more else None)
