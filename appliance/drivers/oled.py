"""Desk OLEDs through luma.oled: a device made from an `[[oled]]` entry, and frames shown.

luma's calls block (I2C, SPI), so they run on a worker thread. The device says what it
is: pictures are drawn at the size and in the mode it reports (rotation included), not
at what the config hoped for. Making a device that fails half-way closes what it had
opened, and luma's own exit hook is never left behind: a display that is retried every
few seconds for a night piles nothing up.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

# ImageFile is what PIL imports at the first tobytes(): imported at start, not amid a
# burst, where its long-lived module objects would pin the burst's memory.
from PIL import Image, ImageFile  # noqa: F401

from appliance.core.config import OledConfig

Device = Any  # a luma device; luma is untyped
DeviceFactory = Callable[[OledConfig], Device]
BRIGHT, DIM = 0xCF, 0x10

_hooks_lock = threading.Lock()


class _HeldHooks:
    """Stands in for the `atexit` module inside luma.core.device while a device is made."""

    def __init__(self) -> None:
        self.held: list[Callable[[], object]] = []

    def register(self, hook: Callable[[], object]) -> None:
        self.held.append(hook)

    def unregister(self, hook: Callable[[], object]) -> None:
        if hook in self.held:
            self.held.remove(hook)


@contextlib.contextmanager
def _no_exit_hooks() -> Iterator[None]:
    """Make luma devices without the exit hook each one registers.

    luma.core.device registers a closure over the device at construction, which no one
    can unregister: every device ever made (each retry of an unplugged display) would stay
    in memory until exit. The devices are closed by their owner instead.
    """
    import luma.core.device  # noqa: PLC0415 - luma loads only where an OLED is configured

    with _hooks_lock:
        luma.core.device.atexit = _HeldHooks()
        try:
            yield
        finally:
            luma.core.device.atexit = atexit


def make_device(config: OledConfig) -> Device:
    """The luma device an [[oled]] entry describes (on the Pi: real I2C or SPI).

    Raises what luma raises (DeviceNotFoundError for a bus that is not there, OSError for
    a display that does not answer, ImportError without the Pi's SPI libraries), having
    closed whatever it opened first.
    """
    # luma loads only where an OLED is configured: a sign-only appliance never pays for it.
    from luma.core.device import dummy  # noqa: PLC0415
    from luma.core.interface.serial import i2c, spi  # noqa: PLC0415
    from luma.oled import device as oled  # noqa: PLC0415

    with _no_exit_hooks():
        if config.driver == "dummy":
            return dummy(width=config.width, height=config.height, rotate=config.rotate, mode="1")
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
        try:
            driver = getattr(oled, config.driver)
            return driver(serial, width=config.width, height=config.height, rotate=config.rotate)
        except BaseException:
            with contextlib.suppress(Exception):
                serial.cleanup()  # the bus the half-made display had opened
            raise


class OledDevice:
    """One made device. Its calls run on the OLEDs' worker thread; `close()` is idempotent."""

    def __init__(self, device: Device, executor: ThreadPoolExecutor) -> None:
        self._device = device
        self._executor = executor
        self._contrast: int | None = None
        self._asleep = False
        self._closed = False

    @classmethod
    async def open(
        cls, config: OledConfig, factory: DeviceFactory, executor: ThreadPoolExecutor
    ) -> OledDevice:
        loop = asyncio.get_running_loop()
        return cls(await loop.run_in_executor(executor, factory, config), executor)

    @property
    def size(self) -> tuple[int, int]:
        """Width and height as the device reports them, rotation applied."""
        width, height = self._device.size
        return int(width), int(height)

    @property
    def mode(self) -> str:
        return str(self._device.mode)

    def _show(self, image: Image.Image, contrast: int, asleep: bool) -> None:
        if asleep != self._asleep:
            (self._device.hide if asleep else self._device.show)()
            self._asleep = asleep
        if asleep:
            return
        if contrast != self._contrast:
            self._device.contrast(contrast)
            self._contrast = contrast
        if image.size != self.size:  # luma's own check is an assert, gone under -OO
            raise ValueError(
                f"a {image.width}x{image.height} frame for a {self.size[0]}x{self.size[1]} display"
            )
        self._device.display(image.convert(self._device.mode))

    async def show(
        self, image: Image.Image, *, contrast: int = BRIGHT, asleep: bool = False
    ) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._show, image, contrast, asleep)

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._device.cleanup()  # blanks the display, then closes its bus
        except Exception:  # noqa: BLE001 - a display that is gone cannot be blanked
            # luma closes the bus only after blanking worked; close it without that.
            serial = getattr(self._device, "_serial_interface", None)
            with contextlib.suppress(Exception):
                if serial is not None:
                    serial.cleanup()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(RuntimeError):  # the executor is already shut down
            await loop.run_in_executor(self._executor, self._close)
