"""Who may subscribe to which channel (PROTOCOL.md §4.1-4.3)."""

from __future__ import annotations

from uuid import UUID

from domain.books.access import may_read
from domain.errors import Forbidden
from domain.sql import Conn

TRENDING = "trending"


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def check_canonical(channel: str) -> None:
    """Channel names have one spelling (`book:` + a lowercase hyphenated UUID): each
    other spelling of the same channel would cost its own hub channel and Redis
    subscription. Any other name is not allowed (`forbidden`, as PROTOCOL.md §4.2 says
    of what may not be subscribed)."""
    rest = channel.partition(":")[2]
    target = _uuid(rest)
    if channel != TRENDING and (target is None or rest != str(target)):
        raise Forbidden(f"not allowed on {channel!r}: channels are user:<uuid>, book:<uuid> "
                        "(in canonical lowercase form) and trending")  # fmt: skip


async def may_subscribe(conn: Conn, user_id: UUID, channel: str) -> bool:
    """`user:<id>` is its user's alone; `book:<id>` is for whoever may read the book;
    `trending` for anyone signed in."""
    if channel == TRENDING:
        return True
    kind, _, rest = channel.partition(":")
    target = _uuid(rest)
    if target is None:
        return False
    if kind == "user":
        return target == user_id
    if kind == "book":
        return await may_read(conn, target, user_id)
    return False


def book_of(channel: str) -> UUID | None:
    kind, _, rest = channel.partition(":")
    return _uuid(rest) if kind == "book" else None
