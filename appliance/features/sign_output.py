"""The LED sign driver: keeps an Alpha sign on a serial line showing the board.

The port is a pyserial URL, opened through an injected opener. On every (re)open the
driver configures the sign's memory and writes everything once; after that it writes
only the files that changed, each transmission in one write, at most every
`min_interval_s`. An unplugged adapter is reopened with backoff and gets the full layout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import NoReturn

import serial

from appliance.core.clock import Clock
from appliance.core.config import SignConfig
from appliance.core.health import Outputs
from appliance.runtime.backoff import Backoff
from appliance.runtime.latest import Latest
from wallboard.sign import alpha
from wallboard.sign.layout import SignFrame, SignStyle, files, frame_changes, is_ticking, sign_frame
from wallboard.view import BoardView

log = logging.getLogger(__name__)
Opener = Callable[..., serial.SerialBase]
KEEPALIVE_S = 30.0  # a quiet line still learns within this that the adapter is gone


def open_port(config: SignConfig, opener: Opener = serial.serial_for_url) -> serial.SerialBase:
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


class SignDriver:
    def __init__(
        self,
        config: SignConfig,
        views: Latest[BoardView],
        clock: Clock,
        outputs: Outputs,
        *,
        language: str = "da",
        opener: Opener = serial.serial_for_url,
    ) -> None:
        self._config = config
        self._views = views
        self._clock = clock
        self._outputs = outputs
        self._opener = opener
        self._style = SignStyle(
            layout=config.layout,
            colours=config.colours,
            flash_critical=config.flash_critical,
            extended=config.extended_chars,
            language=language,
        )
        self._type = alpha.TYPE_CODES.get(config.type, config.type)
        self.writes = 0
        self.bytes_written = 0
        self.opened = 0

    async def run(self) -> NoReturn:
        backoff = Backoff(first_s=1.0, cap_s=30.0)
        while True:
            port: serial.SerialBase | None = None
            try:
                port = await asyncio.to_thread(open_port, self._config, self._opener)
                self.opened += 1
                log.info("sign on %s", self._config.port)
                self._outputs.ok("sign")
                backoff.reset()
                await self._drive(port)
            except (serial.SerialException, OSError) as error:
                message = f"{self._config.port}: {error}"
                if self._outputs.states.get("sign", (True, ""))[1] != message:
                    log.warning("sign: %s", message)
                self._outputs.error("sign", message)
            finally:
                if port is not None:
                    await asyncio.to_thread(port.close)
            await asyncio.sleep(backoff.next_delay())

    async def _write(self, port: serial.SerialBase, *commands: alpha.Command) -> None:
        data = alpha.encode(alpha.Transmission(commands, self._type, self._config.address))
        await asyncio.to_thread(port.write, data)  # one write per transmission
        self.writes += 1
        self.bytes_written += len(data)

    async def _drive(self, port: serial.SerialBase) -> NoReturn:
        now = self._clock.now()
        await self._write(
            port,
            alpha.ConfigureMemory(files(self._config.layout)),
            alpha.SetTimeOfDay(now.hour, now.minute),
        )
        shown: SignFrame | None = None
        seen = -1
        loop = asyncio.get_running_loop()
        while True:
            seen, view = self._views.version, self._views.value
            received = self._clock.monotonic()
            frame = sign_frame(view, self._style)
            while True:
                commands = frame_changes(shown, frame)
                if commands:
                    await self._write(port, *commands)
                    shown = frame
                written_at = loop.time()
                ticking = is_ticking(view) and frame.priority is None
                try:
                    async with asyncio.timeout(1.0 if ticking else KEEPALIVE_S):
                        await self._views.wait_newer(seen)
                    break  # a new view: start over from it
                except TimeoutError:
                    if not ticking:  # a quiet line: a tiny write that notices a lost adapter
                        local = self._clock.now()
                        await self._write(port, alpha.SetTimeOfDay(local.hour, local.minute))
                    grown = self._clock.monotonic() - received
                    frame = sign_frame(view, self._style, grown)
                finally:
                    pause = self._config.min_interval_s - (loop.time() - written_at)
                    if pause > 0:
                        await asyncio.sleep(pause)
