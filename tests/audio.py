"""Real recordings for the voice-note tests, encoded by libsndfile (through soundfile):
a tone of the given length in each container a phone or browser may send."""

from __future__ import annotations

import io

import numpy as np
import soundfile

RATE = 48_000
FORMATS = {  # media type: (soundfile format, subtype)
    "audio/ogg": ("OGG", "OPUS"),
    "audio/mpeg": ("MP3", "MPEG_LAYER_III"),
    "audio/flac": ("FLAC", None),
    "audio/wav": ("WAV", None),
}


def tone(seconds: float, media_type: str = "audio/ogg") -> bytes:
    t = np.linspace(0, seconds, int(RATE * seconds), endpoint=False)
    samples = 0.3 * np.sin(2 * np.pi * 440 * t)
    out = io.BytesIO()
    fmt, subtype = FORMATS[media_type]
    soundfile.write(out, samples, RATE, format=fmt, subtype=subtype)
    return out.getvalue()
