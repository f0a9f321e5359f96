"""Cover thumbnails with Pillow: at most 400 px on the long side, JPEG. A damaged or
oversized image gives no cover rather than an error."""

from __future__ import annotations

import io
import warnings

from PIL import Image

MAX_SIDE = 400
MAX_PIXELS = 50_000_000  # a decompression bomb is refused, not decoded


def thumbnail(image_bytes: bytes) -> bytes | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image_bytes)) as image:
                if image.width * image.height > MAX_PIXELS:
                    return None
                image.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                image.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
                return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
