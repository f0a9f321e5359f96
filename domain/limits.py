"""Bounds on free-form JSON that clients send and the server stores, fans out and
replays (position data, preferences, card customizations).

A msgspec Struct cannot bound a dict's encoded size or depth in its type, so commands
with such fields derive from `BoundedJson`, whose `__post_init__` checks every dict or
list field as it is decoded: msgspec turns the ValueError into a ValidationError, the
HTTP side answers 422 naming the field, the WebSocket side a `bad_request` frame."""

from __future__ import annotations

from typing import Any

import msgspec

# what one position, one preference object or one set of customizations may weigh: a
# reader's position is a few numbers and a CFI or XPath, never kilobytes
MAX_JSON_BYTES = 4096
MAX_JSON_DEPTH = 8

_encode = msgspec.json.Encoder().encode


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of `value`, walking no deeper than `limit` + 1."""
    if limit < 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


def check_json(field: str, value: Any, max_bytes: int = MAX_JSON_BYTES) -> None:
    """ValueError naming `field` when `value` is too large or too deeply nested."""
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise ValueError(f"field `{field}` nests deeper than {MAX_JSON_DEPTH} levels")
    size = len(_encode(value))
    if size > max_bytes:
        raise ValueError(f"field `{field}` is {size} bytes of JSON; the limit is {max_bytes}")


class BoundedJson(msgspec.Struct):
    """Base of commands with free-form JSON fields: each dict field is bounded."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, dict) and value:
                check_json(name, value)
