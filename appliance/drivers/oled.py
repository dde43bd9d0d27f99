"""Desk OLEDs through luma.oled: a device made from an `[[oled]]` entry, and frames shown.

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
from typing import Any

# ImageFile is what PIL imports at the first tobytes(): imported at start, not amid a
# burst, where its long-lived module objects would pin the burst's memory.
from PIL import Image, ImageFile  # noqa: F401

from appliance.core.config import OledConfig
from appliance.core.health import Outputs

log = logging.getLogger(__name__)
Device = Any  # a luma device; luma is untyped
DeviceFactory = Callable[[OledConfig], Device]
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
