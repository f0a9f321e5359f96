"""What an uploaded voice note or picture is, read from its bytes alone: the audio's
type and duration, the picture re-encoded without its metadata. Pure and blocking: the
caller runs these in a thread."""

from __future__ import annotations

import io
import struct

import mutagen
from PIL import Image, UnidentifiedImageError

from domain.errors import Invalid, UnsupportedType

MAX_AUDIO_SECONDS = 30 * 60  # a voice note, not an audiobook
MAX_IMAGE_SIDE = 2048  # larger pictures are scaled down
MAX_IMAGE_PIXELS = 40_000_000  # more is a decompression bomb, refused before decoding


def audio_type(data: bytes) -> str:
    """The audio's media type from its first bytes (415 for anything else)."""
    head = data[:12]
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    raise UnsupportedType("not an audio file this server plays back (Ogg/Opus, WebM, MP3, "
                          "M4A, FLAC or WAV)")  # fmt: skip


def audio_seconds(data: bytes, media_type: str) -> int:
    """The recording's length in whole seconds (at least 1), read from its headers;
    422 when they cannot be read or it is too long."""
    try:
        if media_type == "audio/webm":
            seconds = webm_seconds(data)
        else:
            found = mutagen.File(io.BytesIO(data))
            seconds = found.info.length if found is not None and found.info else None
    except (mutagen.MutagenError, ValueError, struct.error, IndexError):
        seconds = None
    if seconds is None or seconds <= 0:
        raise Invalid("the audio's length cannot be read: a damaged or empty recording?",
                      field="file")  # fmt: skip
    if seconds > MAX_AUDIO_SECONDS:
        raise Invalid(f"a voice note is at most {MAX_AUDIO_SECONDS // 60} minutes",
                      field="file")  # fmt: skip
    return max(1, int(seconds + 0.5))


# -- WebM (what browsers record): EBML, read just far enough for the duration ----------
_SEGMENT, _INFO, _CLUSTER = 0x18538067, 0x1549A966, 0x1F43B675
_TIMECODE_SCALE, _DURATION, _CLUSTER_TIME = 0x2AD7B1, 0x4489, 0xE7
_SIMPLE_BLOCK, _BLOCK_GROUP, _BLOCK = 0xA3, 0xA0, 0xA1
_UNKNOWN = -1


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    first = data[at]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("bad EBML length")
    value = first if keep_marker else first & (0xFF >> length)
    for b in data[at + 1 : at + length]:
        value = (value << 8) | b
    if not keep_marker and value == (1 << (7 * length)) - 1:
        value = _UNKNOWN  # a live recording's unknown size
    return value, at + length


def webm_seconds(data: bytes) -> float | None:
    """The duration from the Segment's Info, else (MediaRecorder leaves it out) from the
    last block's time. Linear in the file; only the Segment and Clusters are entered."""
    scale, duration, last = 1_000_000, None, 0
    cluster_time = 0
    at, end = 0, len(data)
    while at < end:
        element, at = _vint(data, at, True)
        size, at = _vint(data, at, False)
        if element in (_SEGMENT, _CLUSTER, _BLOCK_GROUP) or size == _UNKNOWN:
            continue  # descend: its children follow
        body = data[at : at + size]
        if element == _INFO:
            inner = 0
            while inner < len(body):
                child, inner = _vint(body, inner, True)
                length, inner = _vint(body, inner, False)
                value = body[inner : inner + length]
                if child == _TIMECODE_SCALE:
                    scale = int.from_bytes(value, "big")
                elif child == _DURATION and length in (4, 8):
                    duration = struct.unpack(">f" if length == 4 else ">d", value)[0]
                inner += length
        elif element == _CLUSTER_TIME:
            cluster_time = int.from_bytes(body, "big")
        elif element in (_SIMPLE_BLOCK, _BLOCK):
            _, offset = _vint(body, 0, False)  # the track number
            relative = struct.unpack(">h", body[offset : offset + 2])[0]
            last = max(last, cluster_time + relative)
        at += size
    ticks = duration if duration else last
    return ticks * scale / 1e9 if ticks else None


def normalized_image(data: bytes) -> tuple[bytes, str]:
    """The picture re-encoded (PNG when it has transparency, else JPEG), at most
    MAX_IMAGE_SIDE on a side, with no metadata (a phone photo's EXIF holds where it was
    taken). 415 for what is not a PNG, JPEG, WebP or GIF picture."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"PNG", "JPEG", "WEBP", "GIF"}:
                raise UnsupportedType("not a PNG, JPEG, WebP or GIF picture")
            if probe.width * probe.height > MAX_IMAGE_PIXELS:
                raise Invalid("the picture has too many pixels", field="file")
            probe.seek(0)
            picture = probe.convert("RGBA")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, EOFError):
        raise UnsupportedType("not a picture that can be read") from None
    picture.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    out = io.BytesIO()
    lowest_alpha = picture.getchannel("A").getextrema()[0]
    if isinstance(lowest_alpha, (int, float)) and lowest_alpha < 255:  # transparency: kept
        picture.save(out, "PNG", optimize=True)
        return out.getvalue(), "image/png"
    picture.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue(), "image/jpeg"
