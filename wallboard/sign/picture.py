"""A picture of an LED sign: what the emulator shows, drawn as lit dots."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from wallboard.sign.memory import Screen

LED_COLOURS = {
    "red": (255, 40, 30),
    "dim_red": (150, 20, 15),
    "green": (40, 230, 60),
    "dim_green": (20, 130, 35),
    "amber": (255, 170, 0),
    "yellow": (255, 230, 40),
    "orange": (255, 120, 0),
    "brown": (170, 90, 30),
    "rainbow": (255, 90, 200),
    "mix": (255, 90, 200),
    "auto": (255, 170, 0),
}
DOT, ROW_DOTS, OFF = 6, 9, (40, 18, 12)


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in ("DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf"):
        try:
            return ImageFont.truetype(name, 8)
        except OSError:
            continue
    return ImageFont.load_default()


def sign_png(screen: Screen | None, columns: int = 32) -> bytes:
    """The screen as a dot-matrix sign `columns` characters wide, as PNG bytes."""
    lines = list(screen.lines) if screen else []
    rows = max(2, len(lines))
    width_dots, height_dots = columns * 6, rows * ROW_DOTS
    # Draw the text at one pixel per LED, then enlarge each pixel into a round dot.
    mask = Image.new("L", (width_dots, height_dots), 0)
    pen = ImageDraw.Draw(mask)
    font = _font()
    for row, line in enumerate(lines):
        pen.text((1, row * ROW_DOTS), line.text, fill=255, font=font)
    picture = Image.new(
        "RGB", (width_dots * DOT + 2 * DOT, height_dots * DOT + 2 * DOT), (12, 8, 6)
    )
    paint = ImageDraw.Draw(picture)
    for y in range(height_dots):
        line_colour = lines[y // ROW_DOTS].colour if y // ROW_DOTS < len(lines) else "auto"
        lit = LED_COLOURS.get(line_colour, LED_COLOURS["amber"])
        for x in range(width_dots):
            on = mask.getpixel((x, y)) > 100  # type: ignore[operator]
            left, top = DOT + x * DOT, DOT + y * DOT
            paint.ellipse((left, top, left + DOT - 2, top + DOT - 2), fill=lit if on else OFF)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
