"""The Alpha Sign Communications Protocol (Alpha/BetaBrite LED signs), sans I/O, both ways.

Written from the protocol's public description. A transmission is

    NUL×5  SOH  type  address(2 hex)  { STX command data ETX checksum(4 hex) }…  EOT

with several commands nested in one transmission. The checksum is the 16-bit sum of
the bytes from STX through ETX, as four upper-case hex digits.

In the style of h11 and wsproto, one set of typed commands serves both directions:
`encode(Transmission(...)) -> bytes` for the appliance, and a `Reader` (bytes in, in any
chunks; `Transmission`s or `Rejected` out, from a bounded buffer) for the emulator and
the tests. Neither touches a port: the serial code only pumps bytes. Text *inside* a
TEXT file (colours, flashing, called strings, Danish letters) is the body's own bytes,
made by the helpers at the end.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal, TypeAlias

from appliance.core.config import SignColour

NUL, SOH, STX, ETX, EOT, ESC = b"\x00", b"\x01", b"\x02", b"\x03", b"\x04", b"\x1b"
SYNC = NUL * 5
CALL_STRING = b"\x10"
COLOUR = b"\x1c"
FLASH = b"\x07"
EXTENDED = b"\x08"
NEW_LINE = b"\x0d"

WRITE_TEXT, WRITE_SPECIAL, WRITE_STRING = b"A", b"E", b"G"
PRIORITY_FILE = "0"

TYPE_CODES = {"all": "Z", "one_line": "1", "two_line": "2", "betabrite": "^"}

Position = Literal["middle", "top", "bottom", "fill", "left", "right"]
POSITIONS: dict[str, bytes] = {
    "middle": b" ",
    "top": b'"',
    "bottom": b"&",
    "fill": b"0",
    "left": b"1",
    "right": b"2",
}
Mode = Literal[
    "rotate",
    "hold",
    "flash",
    "roll_up",
    "roll_down",
    "roll_left",
    "roll_right",
    "wipe_up",
    "scroll",
    "auto",
    "compressed_rotate",
]
MODES: dict[str, bytes] = {
    "rotate": b"a",
    "hold": b"b",
    "flash": b"c",
    "roll_up": b"e",
    "roll_down": b"f",
    "roll_left": b"g",
    "roll_right": b"h",
    "wipe_up": b"i",
    "scroll": b"m",
    "auto": b"o",
    "compressed_rotate": b"t",
}
Colour = SignColour  # the names are the config's; the codes are here
COLOURS: dict[Colour, bytes] = {
    "red": b"1",
    "green": b"2",
    "amber": b"3",
    "dim_red": b"4",
    "dim_green": b"5",
    "brown": b"6",
    "orange": b"7",
    "yellow": b"8",
    "rainbow": b"9",
    "mix": b"B",
    "auto": b"C",
}

# The sign's extended characters (0x08 + code) follow the order of code page 437 from 0x80:
# Å is 0x8F there, so 0x08 0x2F. The set has no Ø, which falls back to OE.
EXTENDED_CHARACTERS: dict[str, bytes] = {
    "Æ": EXTENDED + b"\x32",
    "æ": EXTENDED + b"\x31",
    "Å": EXTENDED + b"\x2f",
    "å": EXTENDED + b"\x26",
    "Ä": EXTENDED + b"\x2e",
    "ä": EXTENDED + b"\x24",
    "Ö": EXTENDED + b"\x39",
    "ö": EXTENDED + b"\x34",
    "Ü": EXTENDED + b"\x3a",
    "ü": EXTENDED + b"\x21",
    "é": EXTENDED + b"\x22",
    "É": EXTENDED + b"\x30",
}
TRANSLITERATIONS = {
    "Æ": "AE",
    "æ": "ae",
    "Ø": "OE",
    "ø": "oe",
    "Å": "AA",
    "å": "aa",
    "ß": "ss",
    "–": "-",
    "—": "-",
    "…": "...",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "«": '"',
    "»": '"',
    "~": "-",
    "\u00a0": " ",
}


def checksum(block: bytes) -> bytes:
    return b"%04X" % (sum(block) & 0xFFFF)


# --- the commands, one type each, for both directions ------------------------------------


@dataclass(frozen=True, slots=True)
class WriteText:
    """Command A: a TEXT file. Without position and mode the file is written bare: an
    empty priority file (label "0") hands the sign back to its run sequence."""

    label: str
    body: bytes = b""
    position: Position | None = "fill"
    mode: Mode | None = "hold"


@dataclass(frozen=True, slots=True)
class WriteString:
    """Command G: a STRING file, called from a TEXT file; a few bytes for a new number."""

    label: str
    value: bytes


@dataclass(frozen=True, slots=True)
class FileSpec:
    label: str
    kind: Literal["text", "string"]
    size: int


@dataclass(frozen=True, slots=True)
class ConfigureMemory:
    """Special function `$`: allocate the TEXT and STRING files, unlocked, always shown."""

    files: tuple[FileSpec, ...]


@dataclass(frozen=True, slots=True)
class RunSequence:
    """Special function `.`: show these TEXT files in turn, by their own timing."""

    labels: str


@dataclass(frozen=True, slots=True)
class SetTimeOfDay:
    hour: int
    minute: int


@dataclass(frozen=True, slots=True)
class Beep:
    """Special function `(`: three short beeps."""


@dataclass(frozen=True, slots=True)
class SoftReset:
    """Special function `,`."""


@dataclass(frozen=True, slots=True)
class OtherCommand:
    """A command this module does not model, kept whole (a reader never loses one)."""

    code: str
    data: bytes


Command: TypeAlias = (
    WriteText
    | WriteString
    | ConfigureMemory
    | RunSequence
    | SetTimeOfDay
    | Beep
    | SoftReset
    | OtherCommand
)


@dataclass(frozen=True, slots=True)
class Transmission:
    """One packet on the wire: a header and its nested commands, written in one go."""

    commands: tuple[Command, ...]
    type_code: str = "Z"
    address: str = "00"


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes between SOH and EOT that are no valid transmission (a checksum, a frame)."""

    reason: str


def block(code: bytes, data: bytes) -> bytes:
    """One nested command on the wire: STX, command code, data, ETX and its checksum."""
    framed = STX + code + data + ETX
    return framed + checksum(framed)


def _code_and_data(command: Command) -> tuple[bytes, bytes]:
    match command:
        case WriteText(label, body, position, mode):
            data = label.encode()
            if position is not None or mode is not None:
                data += ESC + POSITIONS[position or "fill"] + MODES[mode or "hold"]
            return WRITE_TEXT, data + body
        case WriteString(label, value):
            return WRITE_STRING, label.encode() + value
        case ConfigureMemory(files):
            entries = b"".join(
                spec.label.encode()
                + (b"A" if spec.kind == "text" else b"B")
                + b"U"
                + b"%04X" % spec.size
                + (b"FF00" if spec.kind == "text" else b"0000")
                for spec in files
            )
            return WRITE_SPECIAL, b"$" + entries
        case RunSequence(labels):
            return WRITE_SPECIAL, b".TU" + labels.encode()
        case SetTimeOfDay(hour, minute):
            return WRITE_SPECIAL, b" %02d%02d" % (hour, minute)
        case Beep():
            return WRITE_SPECIAL, b"(2"
        case SoftReset():
            return WRITE_SPECIAL, b","
        case OtherCommand(code, data):
            return code.encode("latin-1"), data


def encode_command(command: Command) -> bytes:
    return block(*_code_and_data(command))


def encode(transmission: Transmission) -> bytes:
    """A whole transmission: sync, header, the commands in order, EOT. One write."""
    header = (
        SYNC
        + SOH
        + transmission.type_code.encode("ascii")
        + transmission.address.upper().encode("ascii")
    )
    return header + b"".join(encode_command(c) for c in transmission.commands) + EOT


def clear_priority() -> WriteText:
    """An empty priority TEXT file hands the sign back to its run sequence."""
    return WriteText(PRIORITY_FILE, b"", None, None)


# --- reading: the same types back ----------------------------------------------------------

_POSITION_NAMES: dict[int, Position] = {code[0]: name for name, code in POSITIONS.items()}  # type: ignore[misc]
_MODE_NAMES: dict[int, Mode] = {code[0]: name for name, code in MODES.items()}  # type: ignore[misc]
_SPECIAL_ENTRY = 11  # label, kind, lock, size (4 hex), start/stop or 0000


def decode_command(code: str, data: bytes) -> Command:
    """The typed command for one block's code and data; what is not modelled, kept whole."""
    if code == "A" and data:
        label, rest = chr(data[0]), data[1:]
        if rest[:1] == ESC and len(rest) >= 3:
            position, mode = _POSITION_NAMES.get(rest[1]), _MODE_NAMES.get(rest[2])
            if position is not None and mode is not None:
                return WriteText(label, rest[3:], position, mode)
        return WriteText(label, rest, None, None)
    if code == "G" and data:
        return WriteString(chr(data[0]), data[1:])
    if code == "E" and data:
        special = _decode_special(data)
        if special is not None:
            return special
    return OtherCommand(code, data)


def _decode_special(data: bytes) -> Command | None:
    kind, rest = data[:1], data[1:]
    if kind == b"$" and len(rest) % _SPECIAL_ENTRY == 0:
        files = []
        for i in range(0, len(rest), _SPECIAL_ENTRY):
            entry = rest[i : i + _SPECIAL_ENTRY]
            file_kind = {b"A": "text", b"B": "string"}.get(entry[1:2])
            try:
                size = int(entry[3:7], 16)
            except ValueError:
                return None
            if file_kind is None:
                return None
            files.append(FileSpec(chr(entry[0]), file_kind, size))  # type: ignore[arg-type]
        return ConfigureMemory(tuple(files))
    if kind == b"." and rest[:2] == b"TU":
        return RunSequence(rest[2:].decode("latin-1"))
    if kind == b" " and len(rest) == 4 and rest.isdigit():
        return SetTimeOfDay(int(rest[:2]), int(rest[2:]))
    if data == b"(2":
        return Beep()
    if data == b",":
        return SoftReset()
    return None


class Reader:
    """Bytes from the line, in any chunks, become `Transmission`s (or `Rejected`).

    `receive_data(data)`, then `next_event()` until it returns None (more bytes needed).
    The buffer is bounded: a transmission that never ends (a line of noise) is dropped
    once `max_bytes` pile up, and counted, so memory never grows with garbage.
    """

    def __init__(self, max_bytes: int = 64 * 1024) -> None:
        self._buffer = bytearray()
        self._max = max_bytes
        self.rejected = 0

    def receive_data(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > self._max and EOT not in self._buffer:
            # A transmission this long never ends: keep only a fresh start, if one came.
            start = self._buffer.rfind(SOH)
            keep = self._buffer[start:] if start > 0 else b""
            self._buffer = bytearray(keep if len(keep) <= self._max else b"")
            self.rejected += 1

    def next_event(self) -> Transmission | Rejected | None:
        end = self._buffer.find(EOT)
        if end < 0:
            start = self._buffer.rfind(SOH)
            del self._buffer[: start if start >= 0 else len(self._buffer)]
            return None
        # No valid transmission holds SOH inside it: the last one before EOT is the start,
        # and a start before it was one that never ended (a sign takes the newest too).
        start = self._buffer.rfind(SOH, 0, end)
        raw = bytes(self._buffer[start + 1 : end])
        del self._buffer[: end + 1]
        event = Rejected("end without a start") if start < 0 else _parse(raw)
        if isinstance(event, Rejected):
            self.rejected += 1
        return event

    def events(self, data: bytes = b"") -> list[Transmission | Rejected]:
        """`receive_data(data)`, then every event that is complete."""
        self.receive_data(data)
        events: list[Transmission | Rejected] = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def transmissions(self, data: bytes = b"") -> list[Transmission]:
        """The valid transmissions among `events(data)`."""
        return [e for e in self.events(data) if isinstance(e, Transmission)]


def _parse(raw: bytes) -> Transmission | Rejected:
    if len(raw) < 3:
        return Rejected("header too short")
    type_code, address = chr(raw[0]), raw[1:3].decode("ascii", "replace")
    commands: list[Command] = []
    rest = raw[3:]
    while rest:
        if rest[:1] != STX:
            return Rejected("bytes outside a command")
        etx = rest.find(ETX)
        if etx < 0 or etx < 2:
            return Rejected("command without its end")
        framed = rest[: etx + 1]
        if rest[etx + 1 : etx + 5] != checksum(framed):
            return Rejected("bad checksum")
        commands.append(decode_command(chr(framed[1]), framed[2:-1]))
        rest = rest[etx + 5 :]
    return Transmission(tuple(commands), type_code, address)


# --- inside a TEXT file: control codes and text ----------------------------------------------


def sign_text(text: str, extended: bool = True) -> bytes:
    """User text as sign bytes: printable ASCII 0x20-0x7D, Danish letters as the sign can.

    Nothing below 0x20 or above 0x7D comes from the text itself; the only other bytes
    are the protocol's own extended-character prefixes.
    """
    out = bytearray()
    for char in text:
        if extended and char in EXTENDED_CHARACTERS:
            out += EXTENDED_CHARACTERS[char]
            continue
        for plain in TRANSLITERATIONS.get(char, char):
            if " " <= plain <= "}":
                out += plain.encode("ascii")
            elif plain.isspace():
                out += b" "
            else:
                # é → e; anything else the sign cannot show is left out.
                base = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore")
                out += bytes(b for b in base if 0x20 <= b <= 0x7D)
    return bytes(out)


def coloured(colour: Colour) -> bytes:
    return COLOUR + COLOURS[colour]


def flashing(on: bool) -> bytes:
    return FLASH + (b"1" if on else b"0")


def call_string(label: str) -> bytes:
    return CALL_STRING + label.encode()
