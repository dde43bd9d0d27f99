"""The LED sign driver: keeps an Alpha sign on a serial line showing the board.

The port is a pyserial URL (appliance.drivers.serial_sign). On every (re)open the
driver configures the sign's memory and writes everything once; after that it writes
only the files that changed, each transmission in one write, at most every
`min_interval_s`. An unplugged adapter is reopened with backoff and gets the full layout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import NoReturn

from appliance.core.clock import Clock
from appliance.core.config import SignConfig
from appliance.core.health import Outputs
from appliance.drivers.serial_sign import Opener, SignLine, SignLineError, serial_for_url
from appliance.runtime.backoff import Backoff
from appliance.runtime.latest import Latest
from wallboard.sign import alpha
from wallboard.sign.layout import SignFrame, SignStyle, files, frame_changes, is_ticking, sign_frame
from wallboard.view import BoardView

log = logging.getLogger(__name__)
KEEPALIVE_S = 30.0  # a quiet line still learns within this that the adapter is gone


class SignDriver:
    def __init__(
        self,
        config: SignConfig,
        views: Latest[BoardView],
        clock: Clock,
        outputs: Outputs,
        *,
        language: str = "da",
        opener: Opener = serial_for_url,
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
            port: SignLine | None = None
            try:
                port = await SignLine.open(self._config, self._opener)
                self.opened += 1
                log.info("sign on %s", self._config.port)
                self._outputs.ok("sign")
                backoff.reset()
                await self._drive(port)
            except SignLineError as error:
                message = str(error)
                if self._outputs.states.get("sign", (True, ""))[1] != message:
                    log.warning("sign: %s", message)
                self._outputs.error("sign", message)
            finally:
                if port is not None:
                    await port.close()
            await asyncio.sleep(backoff.next_delay())

    async def _write(self, port: SignLine, *commands: alpha.Command) -> None:
        data = alpha.encode(alpha.Transmission(commands, self._type, self._config.address))
        await port.write(data)  # one write per transmission
        self.writes += 1
        self.bytes_written += len(data)

    async def _drive(self, port: SignLine) -> NoReturn:
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
