"""Text fitted into boxes on a tiny screen: the largest font that fits, lines never clipped.

A box is measured by the ink of its tallest and deepest letters ("Å" and "g"), so a line
with descenders fits as well as one without and lines do not jump as their words change.
Text that does not fit even at the smallest legible size is wrapped (where the box has
room for more lines) and then shortened at a word, with "…": never cut through a letter.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import ImageFont

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

SMALLEST_PX = 8  # below this DejaVu is not read at arm's length on a 0.96" OLED
LARGEST_PX = 64
_REACH = "ÅÉgjpq|"  # the highest and the lowest ink a line can have
ELLIPSIS = "…"
_REFERENCE_PX = 32
_GAP = 1  # pixels between the lines of a block


# DejaVu Sans, shipped cut down to the scripts a desk shows (fonts/subset.sh): the same
# pictures on every Pi, with or without fonts-dejavu-core, in a fifth of the memory.
FONTS = Path(__file__).with_name("fonts")


@cache
def font(size: int, bold: bool = False) -> Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        # BASIC layout: Danish text needs no shaping, and HarfBuzz costs ~1 MB resident.
        return ImageFont.truetype(FONTS / name, size, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return ImageFont.load_default(size)


_FIGURES = frozenset("0123456789:–-. ")


@cache
def _reach(size: int, bold: bool, figures: bool = False) -> tuple[int, int]:
    """The ink's top and bottom below the drawing origin, for any line at this size (or
    any line of figures: no accents or descenders to leave room for, so they grow)."""
    boxes = _bboxes("0123456789" if figures else _REACH, size, bold)
    return min(box[1] for box in boxes), max(box[3] for box in boxes)


def reach(text: str, size: int, bold: bool) -> tuple[int, int]:
    return _reach(size, bold, figures=bool(text) and set(text) <= _FIGURES)


def line_height(size: int, bold: bool = False, text: str = "") -> int:
    top, bottom = reach(text, size, bold)
    return bottom - top


def _across(text: str, size: int, bold: bool) -> tuple[int, int]:
    """Where the ink (or the advance, if wider) starts and ends from the drawing origin:
    a "V" reaches left of it, and would lose its edge at x = 0."""
    boxes = _bboxes(text, size, bold)
    left, right = min(box[0] for box in boxes), max(box[2] for box in boxes)
    return min(left, 0), max(right, int(font(size, bold).getlength(text)))


@lru_cache(maxsize=1024)  # a desk redraws every second: only the wait's text is new
def _bboxes(text: str, size: int, bold: bool) -> tuple[tuple[int, int, int, int], ...]:
    """The ink's box as drawn antialiased (greyscale OLEDs) and as drawn in one bit: the
    one-bit rasteriser reaches a pixel further here and there ("V" left of its origin)."""
    face = font(size, bold)
    return tuple(
        tuple(int(edge) for edge in face.getbbox(text, mode=mode))  # type: ignore[misc]
        for mode in ("L", "1")
    )


def text_width(text: str, size: int, bold: bool = False) -> int:
    start, end = _across(text, size, bold)
    return end - start


@dataclass(frozen=True, slots=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def below(self, height: int, gap: int = 1) -> Box:
        return Box(self.x, self.y + self.height + gap, self.width, height)


@dataclass(frozen=True, slots=True)
class Placed:
    """One line of text, where it is drawn (the origin PIL draws from) and its ink's box."""

    text: str
    x: int
    y: int
    size: int
    bold: bool
    box: Box  # the box it was fitted into

    @property
    def font(self) -> Font:
        return font(self.size, self.bold)

    @property
    def ink(self) -> tuple[int, int, int, int]:
        """Left, top, right, bottom of the pixels this line may light."""
        top, bottom = reach(self.text, self.size, self.bold)
        start, end = _across(self.text, self.size, self.bold)
        return (self.x + start, self.y + top, self.x + end, self.y + bottom)


def largest_size(text: str, width: int, height: int, bold: bool, *, most: int = LARGEST_PX,
                 smallest: int = SMALLEST_PX) -> int:  # fmt: skip
    """The largest size at which `text` fits `width`×`height`; 0 if not even `smallest`."""
    # Ink scales with the size: measured once at a reference size, the estimate is within
    # a size or two, so a few faces are opened instead of one per size tried (each one
    # maps the font file and keeps what it touched resident, ~0.2 MB a face).
    by_height = height * _REFERENCE_PX // max(1, line_height(_REFERENCE_PX, bold, text)) + 1
    by_width = width * _REFERENCE_PX // max(1, text_width(text, _REFERENCE_PX, bold)) + 1
    # (+2: the estimate rounds down now and then; one step too small is not the largest)
    for size in _sizes(min(most, by_height + 2, by_width + 2), smallest):
        if line_height(size, bold, text) <= height and text_width(text, size, bold) <= width:
            return size
    return 0


# The sizes a screen uses: every size in 6..12 (small lines need each pixel), then fewer.
# Each face opened stays resident (~0.2 MB); trying every size from 64 down kept forty.
SIZES = (64, 56, 48, 42, 36, 32, 28, 25, 22, 20, 18, 16, 14, 13, 12, 11, 10, 9, 8, 7, 6)


def _sizes(start: int, smallest: int) -> list[int]:
    """The sizes to try, largest first, from `start` down to `smallest`."""
    return [size for size in SIZES if smallest <= size <= start]


def place(text: str, box: Box, size: int, bold: bool, right: bool = False) -> Placed:
    top, _ = reach(text, size, bold)
    start, _ = _across(text, size, bold)
    x = box.x - start + (box.width - text_width(text, size, bold) if right else 0)
    return Placed(text, x, box.y - top, size, bold, box)


@lru_cache(maxsize=1024)
def fit_line(text: str, box: Box, *, bold: bool = False, most: int = LARGEST_PX,
             right: bool = False, smallest: int = SMALLEST_PX) -> Placed | None:  # fmt: skip
    """`text` as large as `box` takes it, or None where it fits not even at `smallest`."""
    size = largest_size(text, box.width, box.height, bold, most=most, smallest=smallest)
    return place(text, box, size, bold, right) if size else None


def shorten(text: str, width: int, size: int, bold: bool) -> str:
    """`text` cut at a word, with "…", to fit `width` at `size` (just "…" if nothing does)."""
    words = text.split()
    while words:
        candidate = " ".join(words) + ELLIPSIS
        if text_width(candidate, size, bold) <= width:
            return candidate
        words.pop()
    return ELLIPSIS


def _wrap(words: list[str], width: int, size: int, bold: bool) -> list[str]:
    """Greedy wrapping; a word wider than the line ends the text as a line of "…"."""
    lines: list[str] = []
    for word in words:
        if text_width(word, size, bold) > width:
            lines.append(ELLIPSIS)
            break
        if lines and text_width(f"{lines[-1]} {word}", size, bold) <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _wrapped_size(words: list[str], box: Box, bold: bool, count: int, smallest: int) -> int:
    """The largest size at which the words wrap whole into `count` lines of `box`; or 0."""
    each = (box.height - _GAP * (count - 1)) // count
    start = each * _REFERENCE_PX // line_height(_REFERENCE_PX, bold) + 2
    for size in _sizes(start, smallest):
        if line_height(size, bold) <= each:
            wrapped = _wrap(words, box.width, size, bold)
            if len(wrapped) <= count and " ".join(wrapped).split() == words:  # all there
                return size
    return 0


def fit_block(text: str, box: Box, *, bold: bool = False, max_lines: int = 1,
              smallest: int = SMALLEST_PX) -> list[Placed]:  # fmt: skip
    """`text` in up to `max_lines` lines at the largest size that takes it whole; else at
    `smallest`, as many lines as fit, the last one shortened at a word."""
    return list(_fit_block(text, box, bold, max_lines, smallest))


@lru_cache(maxsize=1024)  # the same lines in the same boxes, frame after frame
def _fit_block(
    text: str, box: Box, bold: bool, max_lines: int, smallest: int
) -> tuple[Placed, ...]:
    words = text.split()
    if not words:
        return ()
    best = largest_size(text, box.width, box.height, bold, smallest=smallest)
    lines, size = [text], best
    for count in range(2, max_lines + 1):
        candidate = _wrapped_size(words, box, bold, count, smallest)
        if candidate > size:
            lines, size = _wrap(words, box.width, candidate, bold), candidate
    if size and lines == [text]:  # one line, with its own reach (figures grow)
        return (place(text, box, size, bold),)
    if size:
        return tuple(_stack(lines, box, size, bold))
    size = smallest
    rows = min(max_lines, (box.height + _GAP) // (line_height(size, bold) + _GAP))
    if rows < 1:
        return ()
    lines = _wrap(words, box.width, size, bold)
    if len(lines) > rows:
        lines = [*lines[: rows - 1], shorten(" ".join(lines[rows - 1 :]), box.width, size, bold)]
    return tuple(_stack(lines, box, size, bold))


def _stack(lines: list[str], box: Box, size: int, bold: bool) -> list[Placed]:
    pitch = line_height(size, bold) + _GAP
    return [
        place(line, Box(box.x, box.y + row * pitch, box.width, pitch - _GAP), size, bold)
        for row, line in enumerate(lines)
    ]
