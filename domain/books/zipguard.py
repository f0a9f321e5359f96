"""Limits for the zip-based formats (EPUB, DOCX), checked on the central directory
before anything is inflated: total and per-entry expansion, entry count, and names that
would escape a folder.

`directory_within_limits` looks only at the end record, before `zipfile` reads the
central directory: `zipfile` lists every entry of a directory whatever its size (two
million one-byte entries cost ~10 s and ~0.8 GB), and its end record's count is not what
it reads by, so both the count and the directory's size are bounded here."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import PurePosixPath

from domain.books.parsed import ParseError

MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200
MAX_ENTRIES = 10_000
# room for MAX_ENTRIES entries with long names (46 bytes of header + name + extras)
MAX_DIRECTORY_BYTES = 8 * 1024 * 1024

_END = b"PK\x05\x06"
_END_SIZE = 22
# the end record's comment is at most 64 KiB: the record starts no further from the end
_END_SEARCH = _END_SIZE + 0xFFFF


def directory_within_limits(data: bytes) -> bool:
    """True when the archive's end record promises at most MAX_ENTRIES entries in a
    central directory of at most MAX_DIRECTORY_BYTES (ZIP64 archives are refused: no
    book needs 65,535 entries or 4 GB)."""
    at = data.rfind(_END, max(0, len(data) - _END_SEARCH))
    if at < 0 or len(data) - at < _END_SIZE:
        return False
    entries: int
    directory_size: int
    entries, directory_size = struct.unpack_from("<HI", data, at + 10)
    return entries <= MAX_ENTRIES and directory_size <= MAX_DIRECTORY_BYTES


def check_zip(data: bytes) -> None:
    if not directory_within_limits(data):
        raise ParseError(f"the archive is damaged or has more than {MAX_ENTRIES} entries")
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
