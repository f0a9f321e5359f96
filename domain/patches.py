"""Reading a PATCH command: which fields the client sent, and their values (absent fields
are msgspec.UNSET; a sent null is None)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


def patch_fields(patch: msgspec.Struct) -> tuple[Callable[[str], bool], Callable[[str], Any]]:
    """`given(name)`: the client sent the field; `value(name)`: its value, None if absent."""

    def given(name: str) -> bool:
        return getattr(patch, name) is not msgspec.UNSET

    def value(name: str) -> Any:
        v = getattr(patch, name)
        return None if v is msgspec.UNSET else v

    return given, value
