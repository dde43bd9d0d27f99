"""The desk OLED screen: a pure drawing from what the desk knows to a picture.

Big enough at arm's length: the waiting callers and the longest wait for the desk's
queues on top, the agent's confirmed state in the middle, and at the bottom what the
desk has to say (pending, refused) or the clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from PIL import Image, ImageDraw

from wallboard.desk.fit import (
    SMALLEST_PX,
    Box,
    Placed,
    fit_block,
    fit_line,
    largest_size,
    place,
    shorten,
)
from wallboard.words import state_word, weekday
from wallboard.words import words as table


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


def _duration(seconds: float) -> str:
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return f"{whole // 60}:{whole % 60:02d}"


def _minutes(seconds: float | None) -> str:
    return "– min" if seconds is None else f"{int(seconds // 60)} min"


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
    state: str  # the agent's confirmed state ("PAUSE Frokost"), or that there is none
    in_state: str  # how long in it ("5 min"); empty without an agent
    bottom: str  # the clock, when the desk opens, or what the desk has to say
    bottom_speaks: bool = False  # the bottom line is a message or a pending request

    @property
    def middle(self) -> str:
        return f"{self.state}  {self.in_state}" if self.in_state else self.state

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
        state, in_state = words["desk_no_agent"], ""
    else:
        state = state_word(screen.language, screen.state or "", short=True).upper()
        if screen.state == "paused" and screen.reason:
            state += f" {screen.reason}"
        in_state = _minutes(screen.in_state_s)
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
        state=state,
        in_state=in_state,
        bottom=bottom,
        bottom_speaks=speaks,
    )


def layout_desk(texts: DeskTexts, size: tuple[int, int]) -> list[Placed]:
    """Every line on a screen of `size` pixels, placed so that none is clipped."""
    # One pixel right and below stays dark: the picture wanders by it against burn-in.
    width, height = size[0] - 1, size[1] - 1
    if height > width * 3 // 2:
        return _portrait(texts, width, height)
    top = Box(0, 0, width, height * 3 // 5 if height <= 40 else height // 2)
    rest = height - top.height - 1
    if height <= 40:  # 128×32: the queue, and one line under it
        lower = top.below(rest)
        speaks = fit_block(texts.lower, lower) if texts.bottom_speaks else _agent(texts, lower)
        return [*_queue(texts, top), *speaks]
    middle = top.below(rest // 2)
    bottom = middle.below(rest - middle.height - 1)
    if texts.bottom_speaks and largest_size(texts.bottom, bottom.width, bottom.height, False) < 10:
        # A message too long for the bottom line takes the agent's line too, for a while.
        return [*_queue(texts, top), *fit_block(texts.bottom, top.below(rest), max_lines=3)]
    return [*_queue(texts, top), *_agent(texts, middle), *fit_block(texts.bottom, bottom)]


def _queue(texts: DeskTexts, box: Box) -> list[Placed]:
    """The waiting callers, big, then the word and the longest wait: beside each other on
    a low screen, the word over the wait on a taller one."""
    if texts.headline:
        return fit_block(texts.headline, box, bold=True, max_lines=2)
    number = fit_line(texts.waiting, Box(box.x, box.y, box.width // 2, box.height), bold=True)
    if number is None:
        return fit_block(f"{texts.waiting} {texts.wait}", box, bold=True)
    gap = max(4, box.height // 6)
    left = number.ink[2] + gap
    column = Box(left, box.y, box.x + box.width - left, box.height)
    if box.height < 24:
        wait = fit_line(texts.wait, column, bold=True, right=True)
        room = Box(left, box.y + box.height // 3, (wait.x if wait else column.x + column.width)
                   - gap - left, box.height - box.height // 3)  # fmt: skip
        label = fit_line(texts.waiting_label, room, most=box.height // 2)
        return [number, *(line for line in (label, wait) if line)]
    label_box = Box(column.x, column.y, column.width, column.height * 2 // 5)
    label = fit_line(texts.waiting_label, label_box, most=max(SMALLEST_PX, box.height // 3))
    wait_box = label_box.below(column.height - label_box.height - 1) if label else column
    wait = fit_line(texts.wait, wait_box, bold=True)
    return [number, *(line for line in (label, wait) if line)]


def _agent(texts: DeskTexts, box: Box) -> list[Placed]:
    """The agent's state and, at the right, how long: shortened, the time is kept."""
    whole = fit_line(texts.middle, box, bold=True)
    if whole is not None or not texts.in_state:
        return [whole] if whole else fit_block(texts.state, box, bold=True)
    time = fit_line(texts.in_state, box, bold=True, most=SMALLEST_PX + 2, right=True)
    if time is None:
        return fit_block(texts.state, box, bold=True)
    room = Box(box.x, box.y, time.x - box.x - 4, box.height)
    state = fit_line(texts.state, room, bold=True, most=time.size)
    if state is None:
        state = place(shorten(texts.state, room.width, time.size, True), room, time.size, True)
    return [state, time]


# A screen on its side is narrow: a line with a long word ("telefonsystemet") at smaller
# letters rather than shortened. Only the lines that need it get them.
PORTRAIT_SMALLEST_PX = 6


def _portrait(texts: DeskTexts, width: int, height: int) -> list[Placed]:
    """A screen turned on its side: the same things, one under the other."""
    smallest = PORTRAIT_SMALLEST_PX
    queue = Box(0, 0, width, height * 2 // 5)
    rest = queue.below(height - queue.height - 1)
    if texts.headline:
        placed = fit_block(texts.headline, queue, bold=True, max_lines=2, smallest=smallest)
    else:
        number = Box(0, 0, width, queue.height * 3 // 5)
        wait = number.below(queue.height - number.height - 1)
        placed = [
            *fit_block(texts.waiting, number, bold=True, smallest=smallest),
            *fit_block(texts.wait, wait, bold=True, smallest=smallest),
        ]
    if texts.bottom_speaks:
        return [*placed, *fit_block(texts.bottom, rest, max_lines=5, smallest=smallest)]
    state = Box(0, rest.y, width, rest.height * 2 // 5)
    in_state = state.below(rest.height // 5)
    bottom = in_state.below(rest.y + rest.height - in_state.y - in_state.height - 1)
    return [
        *placed,
        *fit_block(texts.state, state, bold=True, max_lines=2, smallest=smallest),
        *fit_block(texts.in_state, in_state, smallest=smallest),
        *fit_block(texts.bottom, bottom, max_lines=2, smallest=smallest),
    ]


def draw_desk(
    screen: DeskScreen, size: tuple[int, int], mode: str = "1", offset: tuple[int, int] = (0, 0)
) -> Image.Image:
    """The desk screen at `size`, shifted by `offset` pixels against burn-in."""
    image = Image.new(mode, size)
    pen = ImageDraw.Draw(image)
    white = 255 if mode in ("1", "L") else (255, 255, 255)
    dx, dy = offset
    for placed in layout_desk(desk_texts(screen), size):
        pen.text((placed.x + dx, placed.y + dy), placed.text, fill=white, font=placed.font)
    return image
