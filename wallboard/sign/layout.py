"""What the LED sign shows: a pure layout from the board view to sign files.

The layout (TEXT file A) holds the fixed words and calls STRING files for the numbers,
so a changing number is a few bytes on the wire and the sign never flickers. States in
which no number may be shown (no data, closed) go in the priority TEXT file, which the
sign shows instead of everything else until it is cleared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from appliance.core.config import SignConfig
from appliance.core.contract import IDENTIFIER
from appliance.core.metrics import Level
from wallboard.sign import alpha
from wallboard.view import BoardView, QueueView
from wallboard.words import weekday
from wallboard.words import words as table

FIELD = re.compile(r"\{(?:(" + IDENTIFIER.pattern + r")\.)?([a-z_]+)\}")
FIELDS = ("waiting", "longest", "available", "busy", "paused", "answered", "abandoned", "sl")
STRING_LABELS = "123456789abcdefghijklmnopqrstuvwxyz"
STRING_SIZE = 8


@dataclass(frozen=True, slots=True)
class SignStyle:
    layout: tuple[str, ...]
    colours: Mapping[Level, alpha.Colour]
    flash_critical: bool = True
    extended: bool = True
    language: str = "da"


@dataclass(frozen=True, slots=True)
class Placeholder:
    label: str
    queue: str | None  # None: the first queue shown
    field: str


def placeholders(layout: tuple[str, ...]) -> dict[str, Placeholder]:
    """Each distinct `{queue.field}` of the layout gets a STRING file of its own."""
    found: dict[str, Placeholder] = {}
    for line in layout:
        for match in FIELD.finditer(line):
            if match.group(0) not in found:
                label = STRING_LABELS[len(found)]
                found[match.group(0)] = Placeholder(label, match.group(1), match.group(2))
    return found


def layout_problems(config: SignConfig) -> list[str]:
    """The mistakes in `[sign] layout`, by key (composed into the config's checks)."""
    errors = [
        f"sign.layout: unknown field {{{m.group(2)}}} (known: {', '.join(FIELDS)})"
        for line in config.layout
        for m in FIELD.finditer(line)
        if m.group(2) not in FIELDS
    ]
    if len(placeholders(config.layout)) > len(STRING_LABELS):
        errors.append(f"sign.layout: at most {len(STRING_LABELS)} different fields")
    return errors


def files(layout: tuple[str, ...]) -> tuple[alpha.FileSpec, ...]:
    """The sign memory this layout needs: layout, ticker, and one STRING per number."""
    specs = [alpha.FileSpec("A", "text", 256), alpha.FileSpec("B", "text", 256)]
    specs += [alpha.FileSpec(p.label, "string", STRING_SIZE) for p in placeholders(layout).values()]
    return tuple(specs)


@dataclass(frozen=True, slots=True)
class SignFrame:
    layout: bytes  # TEXT file A
    strings: dict[str, bytes]  # STRING label → value
    priority: bytes | None  # TEXT file 0, shown instead of all else; None: cleared
    ticker: bytes | None  # TEXT file B, after A in the run sequence; None: no ticker


def _queue(view: BoardView, name: str | None) -> QueueView | None:
    if name is None:
        return view.queues[0] if view.queues else None
    return next((q for q in view.queues if q.queue == name), None)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return (
        f"{whole // 60}:{whole % 60:02d}"
        if whole < 3600
        else f"{whole // 3600}t{whole % 3600 // 60:02d}"
    )


def _value(queue: QueueView, field: str, grown_s: float) -> str:
    counts = queue.agents
    match field:
        case "waiting":
            return str(queue.waiting)
        case "longest":
            ticking = grown_s if queue.waiting else 0.0
            return _duration((queue.longest_wait_s or 0) + ticking)
        case "available" | "paused" if counts is not None:
            return str(getattr(counts, field))
        case "busy" if counts is not None:
            return str(counts.busy + counts.ringing + counts.wrap_up)
        case "answered" | "abandoned":
            return str(getattr(queue.today, field))
        case "sl":
            return "-" if queue.today.sl_pct is None else f"{queue.today.sl_pct:.0f}%"
    return "-"


def _message(text: str, colour: alpha.Colour, style: SignStyle) -> bytes:
    return alpha.coloured(colour) + alpha.sign_text(text, style.extended)


def _not_live(view: BoardView, style: SignStyle) -> bytes | None:
    """The priority text when the sign must not show numbers, else None."""
    words = table(style.language)
    no_data = words["no_data"].upper()
    if view.feed in ("offline", "disconnected"):
        why = words["phone_system_offline" if view.feed == "offline" else "no_connection"]
        return _message(f"{no_data} - {why.upper()}", "red", style)
    if not view.open:
        text = words["closed"].upper()
        if view.next_open:
            opens = datetime.fromisoformat(view.next_open)
            day = weekday(style.language, opens.weekday(), short=True)
            text += f" - {words['opens'].upper()} {day} {opens:%H.%M}"
        return _message(text, "amber", style)
    shown = [_queue(view, p.queue) for p in placeholders(style.layout).values()]
    if not view.queues or any(q is None or q.stale for q in shown):
        return _message(no_data, "red", style)
    return None


def sign_frame(view: BoardView, style: SignStyle, grown_s: float = 0.0) -> SignFrame:
    """The sign's files for `view`, with waits grown by `grown_s` since it was made."""
    holders = placeholders(style.layout)
    priority = _not_live(view, style)
    strings: dict[str, bytes] = {}
    lines = []
    for line in style.layout:
        queues = [_queue(view, m.group(1)) for m in FIELD.finditer(line)]
        levels: list[Level] = [q.level for q in queues if q is not None and q.level]
        level: Level = max(levels, key=("ok", "warn", "critical").index, default="ok")
        body = alpha.coloured(style.colours.get(level, "green"))
        if style.flash_critical:
            body += alpha.flashing(level == "critical")
        cursor = 0
        for match in FIELD.finditer(line):
            body += alpha.sign_text(line[cursor : match.start()], style.extended)
            holder = holders[match.group(0)]
            body += alpha.call_string(holder.label)
            queue = _queue(view, holder.queue)
            value = "-" if queue is None or priority else _value(queue, holder.field, grown_s)
            strings[holder.label] = alpha.sign_text(value[:STRING_SIZE], style.extended)
            cursor = match.end()
        body += alpha.sign_text(line[cursor:], style.extended)
        lines.append(body)
    ticker = "   ".join(item.text for item in view.ticker)
    return SignFrame(
        layout=alpha.NEW_LINE.join(lines),
        strings=strings,
        priority=priority,
        ticker=_message(ticker, "yellow", style) if ticker else None,
    )


def frame_changes(shown: SignFrame | None, frame: SignFrame) -> list[alpha.Command]:
    """The commands that take the sign from `shown` to `frame`; all of them if unknown."""
    commands: list[alpha.Command] = []
    if shown is None or frame.layout != shown.layout:
        commands.append(alpha.WriteText("A", frame.layout, "fill", "hold"))
    commands += [
        alpha.WriteString(label, value)
        for label, value in frame.strings.items()
        if shown is None or shown.strings.get(label) != value
    ]
    if shown is None or frame.ticker != shown.ticker:
        if frame.ticker is not None:
            commands.append(alpha.WriteText("B", frame.ticker, "middle", "rotate"))
        commands.append(alpha.RunSequence("AB" if frame.ticker else "A"))
    if shown is None or frame.priority != shown.priority:
        commands.append(
            alpha.clear_priority()
            if frame.priority is None
            else alpha.WriteText(alpha.PRIORITY_FILE, frame.priority, "fill", "hold")
        )
    return commands


def is_ticking(view: BoardView) -> bool:
    """Whether the sign's numbers change by themselves (a wait that keeps growing)."""
    return any(q.waiting for q in view.queues if not q.stale)
