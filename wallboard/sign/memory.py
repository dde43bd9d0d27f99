"""What an Alpha sign would display, from the transmissions it received: tests, emulator."""

from __future__ import annotations

from dataclasses import dataclass, field

from wallboard.sign.alpha import (
    CALL_STRING,
    COLOUR,
    COLOURS,
    EXTENDED,
    EXTENDED_CHARACTERS,
    FLASH,
    NEW_LINE,
    PRIORITY_FILE,
    Beep,
    ConfigureMemory,
    RunSequence,
    SetTimeOfDay,
    SoftReset,
    Transmission,
    WriteString,
    WriteText,
)

_COLOUR_NAMES = {code[0]: name for name, code in COLOURS.items()}
_EXTENDED = {code[1]: char for char, code in EXTENDED_CHARACTERS.items()}


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    colour: str = "auto"
    flash: bool = False


@dataclass(frozen=True, slots=True)
class Screen:
    """One TEXT file as shown: its lines with strings substituted, and how it moves."""

    label: str
    mode: str
    position: str
    lines: tuple[Line, ...]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass(slots=True)
class SignMemory:
    """The sign's files, as the packets it received have set them."""

    texts: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # position, mode, body
    strings: dict[str, bytes] = field(default_factory=dict)
    configured: list[str] = field(default_factory=list)
    sequence: str = "A"
    time_of_day: str | None = None
    beeps: int = 0
    resets: int = 0

    def apply(self, transmission: Transmission) -> None:
        for command in transmission.commands:
            match command:
                case WriteText(label, b"", None, None) if label == PRIORITY_FILE:
                    self.texts.pop(PRIORITY_FILE, None)
                case WriteText(label, body, position, mode):
                    self.texts[label] = (position or "fill", mode or "hold", body)
                case WriteString(label, value):
                    self.strings[label] = value
                case ConfigureMemory(files):
                    self.configured = [spec.label for spec in files]
                    self.texts.clear()
                    self.strings.clear()
                case RunSequence(labels):
                    self.sequence = labels
                case SetTimeOfDay(hour, minute):
                    self.time_of_day = f"{hour:02d}{minute:02d}"
                case Beep():
                    self.beeps += 1
                case SoftReset():
                    self.resets += 1

    def screens(self) -> list[Screen]:
        """The priority file alone if there is one, else the run sequence in order."""
        labels = [PRIORITY_FILE] if PRIORITY_FILE in self.texts else list(self.sequence)
        return [self.screen(label) for label in labels if label in self.texts]

    def screen(self, label: str) -> Screen:
        position, mode, body = self.texts[label]
        return Screen(label, mode, position, tuple(self._lines(body)))

    def _lines(self, body: bytes) -> list[Line]:
        lines: list[Line] = []
        text, colour, flash, first_colour, first_flash = [], "auto", False, None, None
        i = 0
        while i < len(body):
            byte = body[i : i + 1]
            nxt = body[i + 1] if i + 1 < len(body) else 0
            if byte == COLOUR:
                colour = _COLOUR_NAMES.get(nxt, "auto")
                first_colour = first_colour or colour
                i += 2
            elif byte == FLASH:
                flash = nxt == ord("1")
                first_flash = flash if first_flash is None else first_flash
                i += 2
            elif byte == CALL_STRING:
                text.append(decode_text(self.strings.get(chr(nxt), b"")))
                i += 2
            elif byte == EXTENDED:
                text.append(_EXTENDED.get(nxt, "?"))
                i += 2
            elif byte == NEW_LINE:
                lines.append(Line("".join(text), first_colour or colour, bool(first_flash)))
                text, first_colour, first_flash = [], None, None
                i += 1
            else:
                text.append(chr(body[i]) if 0x20 <= body[i] < 0x7F else "")
                i += 1
        lines.append(Line("".join(text), first_colour or colour, bool(first_flash)))
        return lines


def decode_text(data: bytes) -> str:
    """Sign bytes back to text: extended characters become the letters they stand for."""
    out, i = [], 0
    while i < len(data):
        if data[i : i + 1] == EXTENDED and i + 1 < len(data):
            out.append(_EXTENDED.get(data[i + 1], "?"))
            i += 2
        else:
            out.append(chr(data[i]) if 0x20 <= data[i] < 0x7F else "")
            i += 1
    return "".join(out)
