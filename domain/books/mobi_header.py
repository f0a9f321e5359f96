"""What a MOBI file says about itself: the title in its MOBI header and the EXTH records
that Kindle files carry (author, publisher, date, language, ISBN). PyMuPDF reads a
MOBI's text but none of these, so without them every MOBI was named after its file.

The layout (MobileRead's MOBI wiki): a 78-byte PalmDB header whose record list gives
where record 0 starts; record 0 holds a 16-byte PalmDOC header, then the MOBI header
(its length, the text encoding, where the full title lies, and a flag saying an EXTH
block follows it); EXTH is a count of (type, length, bytes) records. A KF8 file repeats
the same records for its second half: the first copy is read."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

_AUTHOR, _PUBLISHER, _ISBN, _PUBLISHED, _TITLE, _LANGUAGE = 100, 101, 104, 106, 503, 524
_TEXTS = {_AUTHOR, _PUBLISHER, _ISBN, _PUBLISHED, _TITLE, _LANGUAGE}
_COVER = 201  # the cover's place among the image records, from the first image's
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8")
_HAS_EXTH = 0x40
_MAX_RECORDS = 1024  # real files carry a few dozen; a count past this is damage
# the header's locale, read when no EXTH language record says more: its low byte is a
# Windows primary language id (as Calibre reads it); the languages books come in most
_LOCALES = {
    0x01: "ar", 0x02: "bg", 0x03: "ca", 0x04: "zh", 0x05: "cs", 0x06: "da", 0x07: "de",
    0x08: "el", 0x09: "en", 0x0A: "es", 0x0B: "fi", 0x0C: "fr", 0x0D: "he", 0x0E: "hu",
    0x0F: "is", 0x10: "it", 0x11: "ja", 0x12: "ko", 0x13: "nl", 0x14: "nb", 0x15: "pl",
    0x16: "pt", 0x18: "ro", 0x19: "ru", 0x1A: "hr", 0x1B: "sk", 0x1D: "sv", 0x1E: "th",
    0x1F: "tr", 0x21: "id", 0x22: "uk", 0x24: "sl", 0x25: "et", 0x26: "lv", 0x27: "lt",
    0x29: "fa", 0x2A: "vi", 0x39: "hi",
}  # fmt: skip


@dataclass
class MobiHeader:
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    isbn: str | None = None
    published: str | None = None
    language: str | None = None
    # the image the file declares as its cover (PyMuPDF's first page is often blank)
    cover: bytes | None = field(default=None, repr=False, compare=False)


def read(data: bytes) -> MobiHeader:
    """The header's metadata; a field the file lacks, or a header too damaged to read,
    leaves it empty (the book's text is PyMuPDF's business, not this)."""
    try:
        return _read(memoryview(data))
    except (struct.error, ValueError):
        return MobiHeader()


def _read(data: memoryview) -> MobiHeader:
    (record0,) = struct.unpack_from(">I", data, 78)
    mobi = record0 + 16
    if bytes(data[mobi : mobi + 4]) != b"MOBI":
        return MobiHeader()
    length, _kind, encoding = struct.unpack_from(">III", data, mobi + 4)
    codec = "utf-8" if encoding == 65001 else "cp1252"
    name_at, name_length, locale = struct.unpack_from(">III", data, record0 + 84)
    header = MobiHeader(
        title=_text(data[record0 + name_at : record0 + name_at + name_length], codec),
        language=_LOCALES.get(locale & 0xFF),
    )
    (flags,) = struct.unpack_from(">I", data, mobi + 0x70)
    exth = mobi + length
    if flags & _HAS_EXTH and bytes(data[exth : exth + 4]) == b"EXTH":
        for kind, raw in _exth_records(data, exth):
            if kind == _COVER and len(raw) == 4:
                (first_image,) = struct.unpack_from(">I", data, record0 + 108)
                header.cover = _image(data, first_image + struct.unpack(">I", raw)[0])
            elif kind in _TEXTS:  # the rest are binary, or of no use here
                _apply(header, kind, _text(raw, codec))
    return header


def _image(data: memoryview, index: int) -> bytes | None:
    """Record `index` when it holds an image."""
    (count,) = struct.unpack_from(">H", data, 76)
    if index >= count:
        return None
    (start,) = struct.unpack_from(">I", data, 78 + 8 * index)
    end = struct.unpack_from(">I", data, 78 + 8 * index + 8)[0] if index + 1 < count else len(data)
    image = bytes(data[start:end]) if start < end <= len(data) else b""
    return image if image.startswith(_IMAGE_MAGIC) else None


def _text(raw: memoryview, codec: str) -> str | None:
    return " ".join(bytes(raw).decode(codec, errors="replace").split()) or None


def _exth_records(data: memoryview, exth: int) -> Iterator[tuple[int, memoryview]]:
    (count,) = struct.unpack_from(">I", data, exth + 8)
    at = exth + 12
    for _ in range(min(count, _MAX_RECORDS)):
        if at + 8 > len(data):  # a truncated block keeps what came before the cut
            return
        kind, size = struct.unpack_from(">II", data, at)
        if size < 8:
            return
        yield kind, data[at + 8 : at + size]
        at += size


def _apply(header: MobiHeader, kind: int, value: str | None) -> None:
    if value is None:
        return
    if kind == _AUTHOR:
        header.authors.append(value)
    elif kind == _TITLE:  # the "updated title" a publisher set wins over the name
        header.title = value
    elif kind == _LANGUAGE:  # says more than the locale
        header.language = value
    elif kind == _PUBLISHER and header.publisher is None:
        header.publisher = value
    elif kind == _ISBN and header.isbn is None:
        header.isbn = value
    elif kind == _PUBLISHED and header.published is None:
        header.published = value
