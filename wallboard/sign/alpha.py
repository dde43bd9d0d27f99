"""The Alpha Sign Communications Protocol (Alpha/BetaBrite LED signs), both ways.

Written from the protocol's public description. A transmission is

    NUL×5  SOH  type  address(2 hex)  { STX command data ETX checksum(4 hex) }…  EOT

with several commands nested in one transmission. The checksum is the 16-bit sum of
the bytes from STX through ETX, as four upper-case hex digits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

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


def checksum(block: bytes) -> bytes:
    return b"%04X" % (sum(block) & 0xFFFF)


def command(code: bytes, data: bytes) -> bytes:
    """One nested command: STX, command code, data, ETX and its checksum."""
    block = STX + code + data + ETX
    return block + checksum(block)


def transmission(*commands: bytes, type_code: str = "Z", address: str = "00") -> bytes:
    """A whole transmission: sync, header, the commands in order, EOT. One write."""
    header = SYNC + SOH + type_code.encode("ascii") + address.upper().encode("ascii")
    return header + b"".join(commands) + EOT


# --- commands --------------------------------------------------------------------------


def write_text(label: str, body: bytes, position: Position = "fill", mode: Mode = "hold") -> bytes:
    return command(WRITE_TEXT, label.encode() + ESC + POSITIONS[position] + MODES[mode] + body)


def clear_priority() -> bytes:
    """An empty priority TEXT file hands the sign back to its run sequence."""
    return command(WRITE_TEXT, PRIORITY_FILE.encode())


def write_string(label: str, value: bytes) -> bytes:
    return command(WRITE_STRING, label.encode() + value)


def coloured(colour: Colour) -> bytes:
    return COLOUR + COLOURS[colour]


def flashing(on: bool) -> bytes:
    return FLASH + (b"1" if on else b"0")


def call_string(label: str) -> bytes:
    return CALL_STRING + label.encode()


@dataclass(frozen=True, slots=True)
class FileSpec:
    label: str
    kind: Literal["text", "string"]
    size: int


def memory_configuration(files: list[FileSpec]) -> bytes:
    """Special function `$`: allocate the TEXT and STRING files, unlocked, always shown."""
    entries = b"".join(
        spec.label.encode()
        + (b"A" if spec.kind == "text" else b"B")
        + b"U"
        + b"%04X" % spec.size
        + (b"FF00" if spec.kind == "text" else b"0000")
        for spec in files
    )
    return command(WRITE_SPECIAL, b"$" + entries)


def run_sequence(labels: str) -> bytes:
    """Special function `.`: show these TEXT files in turn, by their own timing."""
    return command(WRITE_SPECIAL, b".TU" + labels.encode())


def time_of_day(hour: int, minute: int) -> bytes:
    return command(WRITE_SPECIAL, b" %02d%02d" % (hour, minute))


def beep() -> bytes:
    """Special function `(`: three short beeps."""
    return command(WRITE_SPECIAL, b"(2")


def soft_reset() -> bytes:
    return command(WRITE_SPECIAL, b",")


# --- decoding --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    code: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Packet:
    type_code: str
    address: str
    commands: tuple[Command, ...]


@dataclass(slots=True)
class PacketReader:
    """Turns a byte stream (in any chunks) back into packets; bad checksums are dropped."""

    buffer: bytearray = field(default_factory=bytearray)
    rejected: int = 0

    def feed(self, data: bytes) -> list[Packet]:
        self.buffer += data
        packets: list[Packet] = []
        while True:
            start = self.buffer.find(SOH)
            if start < 0:
                self.buffer.clear()
                return packets
            end = self.buffer.find(EOT, start)
            if end < 0:
                del self.buffer[:start]
                return packets
            raw = bytes(self.buffer[start + 1 : end])
            del self.buffer[: end + 1]
            packet = self._parse(raw)
            if packet is None:
                self.rejected += 1
            else:
                packets.append(packet)

    def _parse(self, raw: bytes) -> Packet | None:
        if len(raw) < 3:
            return None
        type_code, address = chr(raw[0]), raw[1:3].decode("ascii", "replace")
        commands, rest = [], raw[3:]
        while rest:
            if rest[:1] != STX:
                return None
            etx = rest.find(ETX)
            if etx < 0:
                return None
            block = rest[: etx + 1]
            given = rest[etx + 1 : etx + 5]
            if given != checksum(block):
                return None
            commands.append(Command(chr(block[1]), block[2:-1]))
            rest = rest[etx + 5 :]
        return Packet(type_code, address, tuple(commands))
