"""The LED sign's serial line: a pyserial URL opened, written to and closed off the loop.

Any pyserial URL works (`/dev/wallboard`, `socket://host:port`, `rfc2217://...`, a pty in
the tests), opened through an injected opener. Every failure of the line comes out as a
`SignLineError` with the port in its message, whatever pyserial or the OS raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import termios
from collections.abc import Callable

import serial

from appliance.core.config import SignConfig
from appliance.core.errors import HotlineError

Opener = Callable[..., serial.SerialBase]
serial_for_url: Opener = serial.serial_for_url


class SignLineError(HotlineError, OSError):
    """The sign's port is missing, unplugged, or refused a write."""


def open_port(config: SignConfig, opener: Opener = serial_for_url) -> serial.SerialBase:
    seven = config.framing == "7E1"
    return opener(
        config.port,
        baudrate=config.baudrate,
        bytesize=serial.SEVENBITS if seven else serial.EIGHTBITS,
        parity=serial.PARITY_EVEN if seven else serial.PARITY_NONE,
        stopbits=serial.STOPBITS_ONE,
        timeout=1,
        write_timeout=5,
    )


class SignLine:
    """One opened port; blocking calls go through a worker thread."""

    def __init__(self, port: serial.SerialBase, name: str) -> None:
        self._port = port
        self.name = name

    @classmethod
    async def open(cls, config: SignConfig, opener: Opener = serial_for_url) -> SignLine:
        try:
            return cls(await asyncio.to_thread(open_port, config, opener), config.port)
        # termios.error is no OSError: a port that vanishes while pyserial sets it up
        # (an adapter unplugged again, a pty being replaced) raises it from tcsetattr.
        except (serial.SerialException, OSError, ValueError, termios.error) as error:
            raise SignLineError(f"{config.port}: {error}") from error

    async def write(self, data: bytes) -> None:
        """One transmission, in one write."""
        try:
            await asyncio.to_thread(self._port.write, data)
        except (serial.SerialException, OSError) as error:
            raise SignLineError(f"{self.name}: {error}") from error

    async def close(self) -> None:
        # Closing a port that is gone: nothing is left to do.
        with contextlib.suppress(serial.SerialException, OSError):
            await asyncio.to_thread(self._port.close)
