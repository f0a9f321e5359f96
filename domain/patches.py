"""Reading a PATCH command: which fields the client sent, and their values (absent fields
are msgspec.UNSET; a sent null is None)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec


def patch_fields(patch: msgspec.Struct) -> tuple[Callable[[str], bool], Callable[[str], Any]]:
    """`given(name)`: the client sent the field; `value(name)`: its value, None if absent."""

    def given(name: str) -> bool:
        return getattr(patch, name) is not msgspec.UNSET

    def value(name: str) -> Any:
        v = getattr(patch, name)
        return None if v is msgspec.UNSET else v

    return given, value


S = TypeVar("S", bound=msgspec.Struct)


def patched(item: S, patch: msgspec.Struct) -> S:
    """`item` with the fields the client sent replaced by theirs (as plain values)."""
    sent = {f: getattr(patch, f) for f in patch.__struct_fields__}
    return msgspec.structs.replace(
        item, **{f: msgspec.to_builtins(v) for f, v in sent.items() if v is not msgspec.UNSET}
    )
