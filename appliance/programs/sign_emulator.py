"""A pretend Alpha sign: it listens on a pty (or a TCP port), decodes what arrives with
the same decoder the tests use, and shows what a real sign would show.

`hotline sign emulate` draws it in the terminal; `hotline demo` draws it as a picture of
an LED sign on its demo page.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import tty
from pathlib import Path
from typing import NoReturn, TextIO

from appliance.runtime.latest import Latest
from wallboard.sign.alpha import Reader
from wallboard.sign.memory import Screen, SignMemory

ANSI = {
    "red": "31",
    "dim_red": "31",
    "green": "32",
    "dim_green": "32",
    "amber": "33",
    "yellow": "93",
    "orange": "33",
    "brown": "33",
    "rainbow": "35",
    "mix": "35",
    "auto": "37",
}


class SignEmulator:
    def __init__(self) -> None:
        self.reader = Reader()
        self.memory = SignMemory()
        self.received = 0
        self.packets = 0
        self.shown: Latest[tuple[Screen, ...]] = Latest(())

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        packets = self.reader.transmissions(data)
        for packet in packets:
            self.memory.apply(packet)
        self.packets += len(packets)
        if packets:
            screens = tuple(self.memory.screens())
            if screens != self.shown.value:
                self.shown.publish(screens)


class PtySign:
    """The emulator's end of a pty pair; the appliance opens `path` as its serial port.

    `path` is always a symlink (`link`, or one in a private directory), never the
    /dev/pts/N behind it: pty numbers are reused as soon as a pty closes, and an appliance
    still retrying the old number would write into whoever's pty got it next (seen: a
    finished benchmark's appliance painting INGEN DATA on the demo's sign). The link goes
    with this pty, so a retry finds nothing there.
    """

    def __init__(self, emulator: SignEmulator, link: Path | None = None) -> None:
        self.emulator = emulator
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes pass unchanged: no CR/LF translation, no echo
        self.device = os.ttyname(self._slave)
        self._closed = False
        self._private: Path | None = None
        if link is None:
            self._private = Path(tempfile.mkdtemp(prefix="hotline-sign-"))
            link = self._private / "sign"
        self.link = link
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        self.link.symlink_to(self.device)

    @property
    def path(self) -> str:
        return str(self.link)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        self.emulator.feed(data)

    async def serve(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        loop.add_reader(self.master, self._readable)
        try:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")
        finally:
            loop.remove_reader(self.master)

    def close(self) -> None:
        """Unplug: the appliance's next write to this port fails, its reopen finds nothing."""
        if self._closed:
            return  # a second close must not close fd numbers that others have now
        self._closed = True
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()  # first: the pty's number is free once its fds are closed
        if self._private is not None:
            with contextlib.suppress(OSError):
                self._private.rmdir()
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


async def serve_tcp(emulator: SignEmulator, host: str, port: int) -> NoReturn:
    """For `socket://host:port` signs (serial-to-Ethernet adapters)."""

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(4096):
            emulator.feed(data)
        writer.close()

    server = await asyncio.start_server(connection, host, port)
    async with server:
        await server.serve_forever()
    raise AssertionError("unreachable")


def draw(screens: tuple[Screen, ...], out: TextIO, colour: bool) -> None:
    width = max((len(line.text) for s in screens for line in s.lines), default=0) + 2
    width = max(width, 26)
    if colour:
        out.write("\x1b[2J\x1b[H")
    for screen in screens or (Screen("-", "hold", "fill", ()),):
        out.write(f"┌{'─' * width}┐  file {screen.label}, {screen.mode}\n")
        for line in screen.lines:
            text = f" {line.text}".ljust(width)
            if colour:
                code = ANSI.get(line.colour, "37") + (";5" if line.flash else "")
                text = f"\x1b[{code};1m{text}\x1b[0m"
            out.write(f"│{text}│\n")
        out.write(f"└{'─' * width}┘\n")
    out.flush()


async def emulate(link: Path | None, listen: tuple[str, int] | None) -> None:
    """`hotline sign emulate`: run until stopped, redrawing on every change."""
    emulator = SignEmulator()
    colour = sys.stdout.isatty()
    pty = PtySign(emulator, link) if listen is None else None
    try:
        async with asyncio.TaskGroup() as group:
            if pty is None:
                assert listen is not None
                group.create_task(serve_tcp(emulator, *listen))
                print(f'Sign emulator listening: [sign] port = "socket://{listen[0]}:{listen[1]}"')
            else:
                group.create_task(pty.serve())
                print(f'Sign emulator on a pty: [sign] port = "{pty.path}"', flush=True)
            seen = 0
            while True:
                seen, screens = await emulator.shown.wait_newer(seen)
                draw(screens, sys.stdout, colour)
    finally:
        if pty is not None:
            pty.close()  # its link goes with it: no appliance writes into a reused pty
