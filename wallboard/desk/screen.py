"""The desk OLED screen: a pure drawing from what the desk knows to a picture.

Big enough at arm's length: the waiting callers and the longest wait for the desk's
queues on top, the agent's confirmed state in the middle, and at the bottom what the
desk has to say (pending, refused) or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from PIL import Image, ImageDraw, ImageFont

from wallboard.words import state_word, weekday
from wallboard.words import words as table

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True, slots=True)
class DeskScreen:
    """What one desk's screen shows, already decided."""

    live: bool  # the queue numbers may be shown
    open: bool
    next_open: str | None  # ISO time, when closed
    waiting: int  # over the desk's queues
    longest_wait_s: float
    agent_name: str | None
    state: str | None  # the confirmed agent state
    reason: str | None
    in_state_s: float | None  # None: unknown
    pending: bool
    message: str | None
    clock: str  # "18.45"
    language: str = "da"


@cache
def font(size: int, bold: bool = False) -> Font:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    try:
        # BASIC layout: Danish text needs no shaping, and HarfBuzz costs ~1 MB resident.
        return ImageFont.truetype(name, size, layout_engine=ImageFont.Layout.BASIC)
    except OSError:
        return ImageFont.load_default(size)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


def _minutes(seconds: float | None) -> str:
    return "– min" if seconds is None else f"{int(seconds // 60)} min"


def _fit(pen: ImageDraw.ImageDraw, text: str, width: int, size: int, bold: bool = False) -> Font:
    """The largest font up to `size` in which `text` fits `width` pixels."""
    # Width grows in step with the size, so one measurement says where to start looking:
    # a face or two opened instead of one per size tried (each one maps the font file and
    # keeps what it touched resident, ~0.2 MB a face).
    measured = pen.textlength(text, font=font(size, bold))
    if measured > width:
        size = min(size - 1, int(size * width / measured) + 1)
    while size > 7:
        candidate = font(size, bold)
        if pen.textlength(text, font=candidate) <= width:
            return candidate
        size -= 1
    return font(7, bold)


def _closed_text(screen: DeskScreen, words: Mapping[str, str]) -> str:
    if not screen.next_open:
        return words["closed"].upper()
    opens = datetime.fromisoformat(screen.next_open)
    day = weekday(screen.language, opens.weekday(), short=True)
    return f"{words['opens']} {day} {opens:%H.%M}"


@dataclass(frozen=True, slots=True)
class DeskTexts:
    """The words on a desk screen, decided once: drawn, and reported by `/api/desks`."""

    headline: str | None  # "LUKKET", "INGEN DATA"; None: the queue's numbers instead
    waiting: str  # the number of waiting callers
    waiting_label: str
    wait: str  # the longest wait, "–" when nobody waits
    middle: str  # the agent's confirmed state and time in it
    bottom: str  # the clock, when the desk opens, or what the desk has to say
    bottom_speaks: bool = False  # the bottom line is a message or a pending request

    def lines(self, height: int) -> tuple[str, ...]:
        """The lines as a screen `height` pixels high shows them, top first."""
        top = self.headline or f"{self.waiting} {self.waiting_label} {self.wait}"
        if height > 32:
            return (top, self.middle, self.bottom)
        return (top, self.lower)

    @property
    def lower(self) -> str:
        """A screen with room for two lines shows the agent, unless the desk says more."""
        return self.bottom if self.bottom_speaks else self.middle


def desk_texts(screen: DeskScreen) -> DeskTexts:
    words = table(screen.language)
    headline, bottom = None, screen.clock
    if not screen.open:
        headline, bottom = words["closed"].upper(), _closed_text(screen, words)
    elif not screen.live:
        headline = words["no_data"].upper()
    if screen.agent_name is None:
        middle = words["desk_no_agent"]
    else:
        state = state_word(screen.language, screen.state or "", short=True).upper()
        if screen.state == "paused" and screen.reason:
            state += f" {screen.reason}"
        middle = f"{state}  {_minutes(screen.in_state_s)}"
    speaks = bool(screen.pending or screen.message)
    if screen.pending:
        bottom = words["desk_pending"]
    if screen.message:
        bottom = screen.message
    return DeskTexts(
        headline=headline,
        waiting=str(screen.waiting),
        waiting_label=words["desk_waiting"],
        wait=_duration(screen.longest_wait_s) if screen.waiting else "–",
        middle=middle,
        bottom=bottom,
        bottom_speaks=speaks,
    )


def draw_desk(
    screen: DeskScreen, size: tuple[int, int], mode: str = "1", offset: tuple[int, int] = (0, 0)
) -> Image.Image:
    """The desk screen at `size`, shifted by `offset` pixels against burn-in."""
    width, height = size
    texts = desk_texts(screen)
    image = Image.new(mode, size)
    pen = ImageDraw.Draw(image)
    white = 255 if mode in ("1", "L") else (255, 255, 255)
    dx, dy = offset
    top = height // 2 if height > 32 else height * 3 // 5
    # The queue: waiting callers, big; the longest wait beside them.
    if not screen.open:
        closed = texts.headline or ""
        pen.text((dx, dy), closed, fill=white, font=_fit(pen, closed, width, top - 4, True))
    elif not screen.live:
        no_data = texts.headline or ""
        pen.text((dx, dy), no_data, fill=white, font=_fit(pen, no_data, width - 2, top - 6, True))
    else:
        number = texts.waiting
        big = font(top - 2, True)
        pen.text((dx, dy - 2), number, fill=white, font=big)
        left = int(pen.textlength(number, font=big)) + 6
        label_font = font(max(8, top // 4))
        pen.text((dx + left, dy), texts.waiting_label, fill=white, font=label_font)
        pen.text(
            (dx + left, dy + top // 3),
            texts.wait,
            fill=white,
            font=_fit(pen, texts.wait, width - left - 2, top * 2 // 3 - 2, True),
        )
    # The agent (the state the phone system confirmed), then what the desk has to say.
    middle, bottom_text = texts.middle, texts.bottom
    if height > 32:
        line = (height - top) // 2
        pen.text((dx, dy + top), middle, fill=white, font=_fit(pen, middle, width - 2, line, True))
        pen.text(
            (dx, dy + top + line),
            bottom_text,
            fill=white,
            font=_fit(pen, bottom_text, width - 2, line - 1),
        )
    else:
        lower = texts.lower
        pen.text(
            (dx, dy + top), lower, fill=white, font=_fit(pen, lower, width - 2, height - top - 1)
        )
    return image
