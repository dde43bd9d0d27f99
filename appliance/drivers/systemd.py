"""systemd's notify protocol, spoken directly: READY, STATUS, WATCHDOG, STOPPING.

A no-op when not run under systemd (no NOTIFY_SOCKET). The watchdog is petted from the
event loop itself, so a wedged loop stops petting and systemd restarts the service.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import NoReturn

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        if self._address:
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        usec = int(env.get("WATCHDOG_USEC", "0") or 0)
        pid = env.get("WATCHDOG_PID")
        mine = pid is None or pid == str(os.getpid())
        # Pet at half the interval, as sd_watchdog_enabled(3) advises.
        self.watchdog_s = usec / 2e6 if usec and mine else None
        self._status = ""

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, message: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError as error:
            log.warning("systemd notify failed: %s", error)

    def ready(self, status: str) -> None:
        self._status = status
        self.notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self.notify(f"STATUS={status}")

    def stopping(self) -> None:
        self.notify("STOPPING=1\nSTATUS=stopping")

    async def run(self, status: Callable[[], str]) -> NoReturn:
        """Pet the watchdog (if asked for) and keep STATUS current, from the event loop."""
        interval = self.watchdog_s or 15.0
        while True:
            if self.watchdog_s:
                self.notify("WATCHDOG=1")
            self.status(status())
            await asyncio.sleep(interval)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
