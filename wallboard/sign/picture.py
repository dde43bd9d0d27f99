"""A picture of an LED sign: what the emulator shows, drawn as lit dots."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from wallboard.sign.font5x7 import HEIGHT, lit_columns
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


def sign_png(screen: Screen | None, columns: int = 32) -> bytes:
    """The screen as a dot-matrix sign `columns` characters wide, as PNG bytes."""
    lines = list(screen.lines) if screen else []
    rows = max(2, len(lines))
    width_dots, height_dots = columns * 6, rows * ROW_DOTS
    picture = Image.new(
        "RGB", (width_dots * DOT + 2 * DOT, height_dots * DOT + 2 * DOT), (12, 8, 6)
    )
    paint = ImageDraw.Draw(picture)
    for row in range(rows):
        line = lines[row] if row < len(lines) else None
        lit = LED_COLOURS.get(line.colour, LED_COLOURS["amber"]) if line else OFF
        dots = lit_columns(line.text[:columns]) if line else ()
        for y in range(ROW_DOTS):
            on_row = dots[y] if y < HEIGHT and dots else ()
            for x in range(width_dots):
                on = x < len(on_row) and on_row[x]
                left, top = DOT + x * DOT, DOT + (row * ROW_DOTS + y) * DOT
                paint.ellipse((left, top, left + DOT - 2, top + DOT - 2), fill=lit if on else OFF)
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return out.getvalue()
