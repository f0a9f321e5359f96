"""Voice notes and pictures read from their bytes alone: the audio's type and length in
every container (real encodings), pictures re-encoded without their metadata, and what
is refused."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from domain.errors import Invalid, UnsupportedType
from domain.reading import media_files
from tests.audio import FORMATS, tone


@pytest.mark.parametrize("media_type", sorted(FORMATS))
def test_each_container_gives_its_type_and_length(media_type: str) -> None:
    data = tone(2.6, media_type)
    assert media_files.audio_type(data) == media_type
    assert media_files.audio_seconds(data, media_type) == 3


def test_what_is_not_audio_or_cannot_be_timed_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for data in (b"%PDF-1.7 not audio", b"PK\x03\x04zip", b""):
        with pytest.raises(UnsupportedType):
            media_files.audio_type(data)
    damaged = tone(2.0)[:200]  # an Ogg header and nothing after it
    with pytest.raises(Invalid):
        media_files.audio_seconds(damaged, "audio/ogg")
    monkeypatch.setattr(media_files, "MAX_AUDIO_SECONDS", 2)
    with pytest.raises(Invalid):  # longer than a voice note may be
        media_files.audio_seconds(tone(3.0), "audio/ogg")


def _element(element_id: int, body: bytes) -> bytes:
    size = len(body) | (0x01 << 56)  # an 8-byte size, as muxers often write
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + size.to_bytes(
        8, "big"
    ) + body  # fmt: skip


def _block(relative_ms: int) -> bytes:
    return _element(0xA3, b"\x81" + struct.pack(">h", relative_ms) + b"\x80" + b"opus")


UNKNOWN = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def test_webm_length_from_its_header_or_from_its_last_block() -> None:
    header = _element(0x1A45DFA3, _element(0x4282, b"webm"))
    info = _element(0x1549A966, _element(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
                    + _element(0x4489, struct.pack(">d", 4200.0)))  # fmt: skip
    with_duration = header + _element(0x18538067, info)
    assert media_files.webm_seconds(with_duration) == pytest.approx(4.2)
    # MediaRecorder's way: sizes unknown, no Duration; the clusters' times tell it
    clusters = b"".join(
        b"\x1f\x43\xb6\x75" + UNKNOWN + _element(0xE7, (start).to_bytes(2, "big"))
        + _block(0) + _block(980)
        for start in (0, 1000, 2000)
    )  # fmt: skip
    live = header + b"\x18\x53\x80\x67" + UNKNOWN + _element(
        0x1549A966, _element(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
    ) + clusters  # fmt: skip
    assert media_files.webm_seconds(live) == pytest.approx(2.98)
    assert media_files.audio_seconds(live, "audio/webm") == 3


def test_pictures_lose_their_metadata_and_keep_transparency() -> None:
    photo = Image.new("RGB", (3000, 1500), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make; a phone also writes where the photo was taken
    raw = io.BytesIO()
    photo.save(raw, "JPEG", exif=exif)
    assert b"PhoneMaker" in raw.getvalue()
    out, media_type = media_files.normalized_image(raw.getvalue())
    assert media_type == "image/jpeg" and b"PhoneMaker" not in out
    assert Image.open(io.BytesIO(out)).size == (2048, 1024)  # scaled down, in proportion
    clear = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(clear, "PNG")
    assert media_files.normalized_image(clear.getvalue())[1] == "image/png"


def test_what_is_not_a_picture_or_is_a_bomb_is_refused() -> None:
    for data in (b"GIF89a-broken", b"not an image at all", tone(0.5, "audio/wav")):
        with pytest.raises(UnsupportedType):
            media_files.normalized_image(data)
    bomb = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(bomb, "PNG")  # 50 million pixels in a few KB
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(Invalid):
        media_files.normalized_image(bomb.getvalue())
