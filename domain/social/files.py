"""Where a quote share's files live in storage."""

from __future__ import annotations

from uuid import UUID


def quote_files_prefix(share_id: UUID) -> str:
    return f"quotes/{share_id}/"
