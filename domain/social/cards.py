"""Quote cards drawn with Pillow from a template's `design_config`: the size for the
platform, a solid or gradient background, an optional frame, the quote wrapped and set in
the largest size that fits, then the author and book attribution."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

DEFAULT_SIZE = (1200, 1200)
# fonts found on common Linux systems; without them Pillow's bundled face is used
_FONT_FILES = {
    "serif": ["DejaVuSerif.ttf", "LiberationSerif-Regular.ttf"],
    "sans": ["DejaVuSans.ttf", "LiberationSans-Regular.ttf"],
    "sans-bold": ["DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"],
    "mono": ["DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"],
}
_FONT_DIRS = [
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/TTF"),
    Path("/Library/Fonts"),
]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def _font_path(kind: str) -> str | None:
    for name in _FONT_FILES.get(kind, _FONT_FILES["sans"]):
        for folder in _FONT_DIRS:
            if (folder / name).exists():
                return str(folder / name)
    return None


def font(kind: str, size: int) -> Font:
    path = _font_path(kind)
    if path is not None:
        return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def size_for(platform_sizes: dict[str, Any], platform: str | None) -> tuple[int, int]:
    chosen = platform_sizes.get(platform or "default") or platform_sizes.get("default")
    if not chosen:
        return DEFAULT_SIZE
    return int(chosen[0]), int(chosen[1])


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _background(size: tuple[int, int], colors: list[str]) -> Image.Image:
    if len(colors) < 2:
        return Image.new("RGB", size, _rgb(colors[0] if colors else "#FFFFFF"))
    top, bottom = _rgb(colors[0]), _rgb(colors[1])
    # a vertical gradient: one row per pixel, scaled up (cheap at any size)
    column = Image.new("RGB", (1, size[1]))
    for y in range(size[1]):
        t = y / max(1, size[1] - 1)
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize(size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, face: Font, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=face) <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _fit(draw: ImageDraw.ImageDraw, text: str, kind: str, box: tuple[int, int],
         largest: int, smallest: int) -> tuple[Font, list[str], int]:  # fmt: skip
    """The largest size at which the wrapped text fits the box (or the smallest, cut)."""
    size = largest
    while True:
        face = font(kind, size)
        lines = _wrap(draw, text, face, box[0])
        line_height = int(size * 1.3)
        if len(lines) * line_height <= box[1] or size <= smallest:
            fitting = max(1, box[1] // line_height)
            if len(lines) > fitting:
                lines = lines[:fitting]
                lines[-1] = lines[-1].rstrip(" ,;:") + "\u2026"
            return face, lines, line_height
        size = max(smallest, int(size * 0.9))


def render(quote: str, author: str | None, book: str | None, design: dict[str, Any],
           size: tuple[int, int]) -> bytes:  # fmt: skip
    """The card as PNG bytes."""
    width, height = size
    image = _background(size, list(design.get("background", {}).get("colors", ["#FFFFFF"])))
    draw = ImageDraw.Draw(image)
    text_color = _rgb(design.get("text_color", "#111111"))
    accent = _rgb(design.get("accent_color", design.get("text_color", "#111111")))
    border = int(design.get("border", 0))
    if border:
        inset = border * 2
        draw.rectangle([inset, inset, width - inset, height - inset], outline=accent, width=border)
    pad = int(min(width, height) * float(design.get("padding", 0.1))) + border * 2
    kind = str(design.get("font", "sans"))
    shown = f"\u201c{quote}\u201d" if design.get("quote_marks") else quote
    credit = " \u2014 ".join(x for x in (author, book) if x)
    credit_face = font(kind, max(18, int(min(width, height) * 0.028)))
    credit_height = int(getattr(credit_face, "size", 20) * 1.6) if credit else 0
    box = (width - 2 * pad, height - 2 * pad - credit_height * 2)
    face, lines, line_height = _fit(draw, shown, kind, box, int(design.get("max_font_size", 64)),
                                    int(design.get("min_font_size", 22)))  # fmt: skip
    block = len(lines) * line_height
    y = pad + (box[1] - block) // 2
    align = design.get("align", "center")
    for line in lines:
        length = draw.textlength(line, font=face)
        x = pad if align == "left" else (width - length) / 2
        draw.text((x, y), line, font=face, fill=text_color)
        y += line_height
    if design.get("rule"):
        rule_w = min(width // 5, 240)
        rx = pad if align == "left" else (width - rule_w) // 2
        draw.line([(rx, y + line_height // 3), (rx + rule_w, y + line_height // 3)], fill=accent,
                  width=max(2, height // 300))  # fmt: skip
    if credit:
        length = draw.textlength(credit, font=credit_face)
        x = pad if align == "left" else (width - length) / 2
        draw.text((x, height - pad - credit_height), credit, font=credit_face, fill=accent)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
