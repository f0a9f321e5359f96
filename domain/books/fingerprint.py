"""KOReader's document id for a file, its "partial MD5": MD5 over 1 KiB samples taken at
offset 0 and at 1024·4^i for i = 0..10 (1 KiB, 4 KiB, 16 KiB … 1 GiB), stopping at the
first offset past the end, the last sample cut short by the end of the file. KOReader
computes it on the device (frontend/util.lua, partialMD5) and names the book by it in
kosync, so BookMind stores it for every file it keeps."""

from __future__ import annotations

import hashlib

SAMPLE = 1024
OFFSETS = [0] + [SAMPLE << (2 * i) for i in range(11)]


def partial_md5(data: bytes) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for offset in OFFSETS:
        sample = data[offset : offset + SAMPLE]
        if not sample:
            break
        digest.update(sample)
    return digest.hexdigest()
