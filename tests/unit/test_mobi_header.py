"""A MOBI's own title, authors and edition facts, read from its header; a damaged header
gives what it can and never fails the book."""

from __future__ import annotations

import io
import struct

from PIL import Image

from domain.books import mobi_header
from tests.services import CORPUS

KF8 = (CORPUS / "childrens-literature_kf8.mobi").read_bytes()
MOBI6 = (CORPUS / "origin-of-species_mobi6.mobi").read_bytes()


def test_a_kindle_file_names_its_title_authors_and_edition() -> None:
    assert mobi_header.read(KF8) == mobi_header.MobiHeader(
        title="Children's Literature",
        authors=["Charles Madison Curry", "Erle Elsworth Clippinger"],
        published="2008-05-20",
        language="en",
    )
    # a cp1252 file whose EXTH names no language: the header's locale says English
    assert mobi_header.read(MOBI6) == mobi_header.MobiHeader(
        title="The Origin of Species by means of Natural Selection, 6th Edition",
        authors=["Charles Darwin"],
        publisher="Project Gutenberg",
        published="1999-12-01",
        language="en",
    )


def test_the_cover_is_the_image_the_file_declares() -> None:
    # PyMuPDF's first page of the KF8 file is blank white; the declared cover is the
    # title page's scan
    for data, size in ((KF8, (500, 714)), (MOBI6, (600, 800))):
        cover = mobi_header.read(data).cover
        assert cover is not None
        with Image.open(io.BytesIO(cover)) as image:
            assert (image.format, image.size) == ("JPEG", size)


def _cover_offset_at(data: bytes) -> int:
    exth = _exth_at(data)
    (count,) = struct.unpack_from(">I", data, exth + 8)
    at = exth + 12
    for _ in range(count):
        kind, size = struct.unpack_from(">II", data, at)
        if kind == 201:
            return at + 8
        at += size
    raise AssertionError("no cover record")


def test_a_cover_offset_past_the_records_or_onto_text_gives_no_cover() -> None:
    at = _cover_offset_at(KF8)
    for offset in (2**32 - 200, 10_000):  # past the records
        broken = bytearray(KF8)
        struct.pack_into(">I", broken, at, offset)
        assert mobi_header.read(bytes(broken)).cover is None
    broken = bytearray(KF8)
    (record0,) = struct.unpack_from(">I", KF8, 78)
    struct.pack_into(">I", broken, record0 + 108, 1)  # the first image: a text record
    struct.pack_into(">I", broken, at, 0)
    header = mobi_header.read(bytes(broken))
    assert header.cover is None and header.title == "Children's Literature"


def _exth_at(data: bytes) -> int:
    (record0,) = struct.unpack_from(">I", data, 78)
    (length,) = struct.unpack_from(">I", data, record0 + 20)
    return int(record0 + 16 + length)


def test_a_cut_or_damaged_header_gives_what_it_can_and_never_raises() -> None:
    exth = _exth_at(KF8)
    assert KF8[exth : exth + 4] == b"EXTH"
    for cut in (0, 10, 77, 80, 100, 200, exth, exth + 10):
        header = mobi_header.read(KF8[:cut])
        assert header.authors == [] and header.published is None, cut
    # cut inside the EXTH block, after its first record (the date): that record is kept;
    # the title, stored after the block, is gone with the cut
    first_size = struct.unpack_from(">I", KF8, exth + 16)[0]
    header = mobi_header.read(KF8[: exth + 12 + first_size + 4])
    assert (header.title, header.authors, header.published) == (None, [], "2008-05-20")
    # a record claiming to be shorter than its own header ends the block
    broken = bytearray(KF8)
    struct.pack_into(">I", broken, exth + 16, 3)
    assert mobi_header.read(bytes(broken)).authors == []
    # a count of records far past what the block holds stops at its end
    broken = bytearray(KF8)
    struct.pack_into(">I", broken, exth + 8, 2**32 - 1)
    assert mobi_header.read(bytes(broken)).title == "Children's Literature"
    assert mobi_header.read(b"\xff" * 4096) == mobi_header.MobiHeader()
    assert mobi_header.read(b"") == mobi_header.MobiHeader()
