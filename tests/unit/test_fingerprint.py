"""KOReader's partial MD5: KOReader's own test files by the ids its tests expect, and
synthetic files around each sample boundary checked against a direct reading of the
definition."""

from __future__ import annotations

import hashlib

import pytest

from domain.books.fingerprint import partial_md5
from tests.services import CORPUS


@pytest.mark.parametrize(
    ("name", "expected"),
    [("tall.pdf", "41cce710f34e5ec21315e19c99821415"),
     ("leaves.epub", "59d481d168cca6267322f150c5f6a2a3")],
)  # fmt: skip
def test_koreaders_own_files_get_the_ids_koreader_gives_them(name: str, expected: str) -> None:
    assert partial_md5((CORPUS / "koreader" / name).read_bytes()) == expected


def _by_definition(data: bytes) -> str:
    md5 = hashlib.md5()
    for i in range(-1, 11):
        offset = 0 if i < 0 else 1024 * 4**i
        if offset >= len(data):
            break
        md5.update(data[offset : offset + 1024])
    return md5.hexdigest()


@pytest.mark.parametrize(
    "size", [1, 1023, 1024, 1025, 2048, 4095, 4096, 4097, 16384 + 10, 65536, 300_000, 1_048_577]
)
def test_sizes_around_each_sample_boundary(size: int) -> None:
    data = bytes((i * 7 + i // 1024) % 256 for i in range(size))
    assert partial_md5(data) == _by_definition(data)


def test_an_empty_file_hashes_nothing() -> None:
    assert partial_md5(b"") == hashlib.md5(b"").hexdigest()


def test_a_byte_between_the_samples_does_not_change_the_id() -> None:
    data = bytearray(range(256)) * 100  # 25,600 bytes: samples at 0, 1 Ki, 4 Ki, 16 Ki
    changed = bytearray(data)
    changed[2048] ^= 0xFF  # not in any sample
    assert partial_md5(bytes(data)) == partial_md5(bytes(changed))
    changed[4096] ^= 0xFF  # in the 4 KiB sample
    assert partial_md5(bytes(data)) != partial_md5(bytes(changed))
