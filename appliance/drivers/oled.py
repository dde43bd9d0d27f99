"""Desk OLEDs through luma.oled, and the loop that keeps every desk's LED and screen right.

luma's calls block (I2C, SPI), so they run on a worker thread. A device that fails
(I2C gone) is reported in health and made anew on the next frame; the other desks and
displays carry on.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from typing import Any, NoReturn

# ImageFile is what PIL imports at the first tobytes(): imported at start, not amid a
# burst, where its long-lived module objects would pin the burst's memory.
from PIL import Image, ImageFile  # noqa: F401

from appliance.core.clock import Clock
from appliance.core.config import DesksConfig, OledConfig
from appliance.drivers.gpio import DeskPins
from appliance.features.desks import DeskStatus
from appliance.features.health import Outputs
from appliance.runtime.latest import Latest
from wallboard.desk.screen import DeskScreen, draw_desk
from wallboard.view import BoardView

log = logging.getLogger(__name__)
Device = Any  # a luma device; luma is untyped
DeviceFactory = Callable[[OledConfig], Device]
SHIFTS = ((0, 0), (1, 0), (1, 1), (0, 1))  # a pixel's wander against burn-in
BRIGHT, DIM = 0xCF, 0x10


def make_device(config: OledConfig) -> Device:
    """The luma device an [[oled]] entry describes (on the Pi: real I2C or SPI)."""
    from luma.core.device import dummy  # noqa: PLC0415
    from luma.core.interface.serial import i2c, spi  # noqa: PLC0415
    from luma.oled import device as oled  # noqa: PLC0415

    if config.driver == "dummy":
        return dummy(width=config.width, height=config.height, mode="1")

    serial = (
        i2c(port=config.i2c_port, address=config.i2c_address)
        if config.interface == "i2c"
        else spi(
            port=config.spi_port,
            device=config.spi_device,
            gpio_DC=config.gpio_dc,
            gpio_RST=config.gpio_reset,
        )
    )
    driver = getattr(oled, config.driver)
    created = driver(serial, width=config.width, height=config.height, rotate=config.rotate)
    atexit.unregister(created.cleanup)  # we close it ourselves; no global exit hooks
    return created


class OledScreen:
    """One OLED: shows frames, dims, sleeps; a failing device is remade on the next frame."""

    def __init__(
        self,
        config: OledConfig,
        outputs: Outputs,
        factory: DeviceFactory,
        executor: ThreadPoolExecutor,
    ) -> None:
        self.config = config
        self._outputs = outputs
        self._factory = factory
        self._executor = executor
        self.device: Device | None = None
        self.frames = 0
        self.last_frame: Image.Image | None = None
        self.last_screen: DeskScreen | None = None  # what the last frame showed
        self._contrast: int | None = None
        self._asleep = False

    @property
    def output(self) -> str:
        return f"oled {self.config.name}"

    def _show(self, image: Image.Image, contrast: int, asleep: bool) -> None:
        if self.device is None:
            self.device = self._factory(self.config)
            self._contrast, self._asleep = None, False
        if asleep != self._asleep:
            (self.device.hide if asleep else self.device.show)()
            self._asleep = asleep
        if asleep:
            return
        if contrast != self._contrast:
            self.device.contrast(contrast)
            self._contrast = contrast
        self.device.display(image.convert(self.device.mode))

    async def show(
        self, image: Image.Image, *, contrast: int = BRIGHT, asleep: bool = False
    ) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._show, image, contrast, asleep)
        except OSError as error:
            self.device = None  # made anew on the next frame
            self._outputs.error(self.output, f"{error.strerror or error} (I2C/SPI)")
            return
        self.frames += 1
        self.last_frame = image
        self._outputs.ok(self.output)


def desk_screen(
    status: DeskStatus, view: BoardView, grown_s: float, clock: str, *, language: str, now: float
) -> DeskScreen:
    """What a desk's screen shows, from the board view and the desk's own status."""
    wanted = set(status.desk.queues)
    queues = [q for q in view.queues if not wanted or q.queue in wanted]
    live = view.feed in ("live",) and bool(queues) and not any(q.stale for q in queues)
    waiting = sum(q.waiting or 0 for q in queues)
    longest = max(((q.longest_wait_s or 0) + grown_s for q in queues if q.waiting), default=0.0)
    agent = status.agent
    return DeskScreen(
        live=live,
        open=view.open,
        next_open=view.next_open,
        waiting=waiting,
        longest_wait_s=longest,
        agent_name=(agent.state.name or agent.state.agent) if agent else None,
        state=agent.state.state if agent else None,
        reason=agent.state.reason if agent else None,
        in_state_s=agent.in_state_s(now) if agent else 0.0,
        pending=status.pending is not None,
        message=status.message,
        clock=clock,
        language=language,
    )


class DeskDisplays:
    """Keeps every desk's LED pins and OLED showing its status and the queue."""

    def __init__(
        self,
        statuses: Latest[dict[str, DeskStatus]],
        views: Latest[BoardView],
        pins: dict[str, DeskPins],
        screens: dict[str, OledScreen],
        *,
        clock: Clock,
        settings: DesksConfig,
        language: str,
        timezone: tzinfo,
    ) -> None:
        self._statuses = statuses
        self._views = views
        self._pins = pins
        self._screens = screens  # desk id → its OLED
        self._clock = clock
        self._settings = settings
        self._language = language
        self._timezone = timezone
        self._changed_at = clock.monotonic()

    async def _draw(self, grown_s: float) -> None:
        view, statuses = self._views.value, self._statuses.value
        for desk_id, status in statuses.items():
            pins = self._pins.get(desk_id)
            if pins is not None:
                pins.show(status.light)
        now = self._clock.monotonic()
        local = self._clock.now().astimezone(self._timezone)
        clock = f"{local:%H.%M}" if self._language == "da" else f"{local:%H:%M}"
        shift = SHIFTS[int(now // self._settings.oled_shift_every_s) % len(SHIFTS)]
        for desk_id, screen in self._screens.items():
            desk_status = statuses.get(desk_id)
            if desk_status is None:
                continue
            model = desk_screen(desk_status, view, grown_s, clock, language=self._language, now=now)
            image = draw_desk(
                model,
                (screen.config.width, screen.config.height),
                "1" if screen.config.driver != "ssd1322" else "RGB",
                shift,
            )
            if screen.last_frame is not None and image.tobytes() == screen.last_frame.tobytes():
                continue  # only on change
            quiet = now - self._changed_at > self._settings.oled_dim_after_s
            await screen.show(image, contrast=DIM if quiet else BRIGHT, asleep=not view.open)
            screen.last_screen = model

    async def run(self) -> NoReturn:
        seen_views, seen_statuses = -1, -1
        received = self._clock.monotonic()
        while True:
            if self._views.version != seen_views or self._statuses.version != seen_statuses:
                seen_views, seen_statuses = self._views.version, self._statuses.version
                received, self._changed_at = self._clock.monotonic(), self._clock.monotonic()
            await self._draw(self._clock.monotonic() - received)
            # A desk's own change shows at once. Otherwise the picture changes by itself
            # only while a wait ticks (each second) or when the clock's minute turns.
            try:
                async with asyncio.timeout(self._quiet_for()):
                    await self._statuses.wait_newer(seen_statuses)
            except TimeoutError:
                pass

    def _quiet_for(self) -> float:
        if any(queue.waiting for queue in self._views.value.queues if not queue.stale):
            return 1.0
        if any(
            status.pending or status.light == "error" for status in self._statuses.value.values()
        ):
            return 1.0
        return 60.5 - self._clock.now().second
