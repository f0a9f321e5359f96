"""Limits for the zip-based formats (EPUB, DOCX), checked on the central directory
before anything is inflated: total and per-entry expansion, entry count, and names that
would escape a folder."""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from domain.books.parsed import ParseError

MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 10_000


def check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ParseError(f"the archive is damaged ({exc})") from None
    if len(infos) > MAX_ENTRIES:
        raise ParseError(f"the archive has {len(infos)} entries; the limit is {MAX_ENTRIES}")
    total = 0
    for info in infos:
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise ParseError(f"the archive has an entry that escapes its folder: {info.filename!r}")
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise ParseError("the archive expands suspiciously (a zip bomb?)")
    if total > MAX_TOTAL_BYTES:
        raise ParseError(f"the archive would expand to {total:,} bytes; the limit is "
                         f"{MAX_TOTAL_BYTES:,}")  # fmt: skip
