"""Desk hardware through gpiozero: the button in, the LED (or RGB LED) and buzzer out.

gpiozero calls back from its own threads; presses are handed to the event loop by the
callback given. Pins come from the injected pin factory (None: gpiozero's own choice,
GPIOZERO_PIN_FACTORY), never from a global set here.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from gpiozero import LED, RGBLED, Button, Buzzer

from appliance.core.config import DeskConfig
from appliance.core.desk import Light

RGB = {"off": (0, 0, 0), "green": (0, 1, 0), "amber": (1, 0.5, 0), "red": (1, 0, 0)}


class DeskPins:
    def __init__(
        self,
        desk: DeskConfig,
        on_press: Callable[[str, float], None],
        pin_factory: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.desk = desk
        self._on_press = on_press
        self._clock = clock
        self._pressed_at: float | None = None
        self.light: Light | None = None
        # Built as gpiozero's CompositeDevice does: if a later pin fails (in use, absent),
        # the ones already claimed are released, so a retry does not find them taken.
        with contextlib.ExitStack() as built:
            self.button = built.enter_context(
                Button(desk.button, pull_up=True, pin_factory=pin_factory)
            )
            self.led = (
                built.enter_context(LED(desk.led, pin_factory=pin_factory)) if desk.led else None
            )
            self.rgb = (
                built.enter_context(RGBLED(*desk.rgb_led, pin_factory=pin_factory))
                if desk.rgb_led
                else None
            )
            self.buzzer = (
                built.enter_context(Buzzer(desk.buzzer, pin_factory=pin_factory))
                if desk.buzzer
                else None
            )
            built.pop_all()  # all made: this object owns them now (close())
        self.button.when_pressed = self._pressed
        self.button.when_released = self._released

    def _pressed(self) -> None:
        self._pressed_at = self._clock()

    def _released(self) -> None:
        if self._pressed_at is None:
            return
        held = self._clock() - self._pressed_at
        self._pressed_at = None
        self._on_press(self.desk.id, held)

    def show(self, light: Light) -> None:
        """Set the LED to the confirmed state; blink while pending; flash on errors."""
        if light == self.light:
            return
        self.light = light
        if self.rgb is not None:
            self._show_rgb(light)
        elif self.led is not None:
            self._show_led(light)
        if self.buzzer is not None and light == "error":
            self.buzzer.beep(on_time=0.1, off_time=0.1, n=2)

    def _show_led(self, light: Light) -> None:
        assert self.led is not None
        match light:
            case "green":
                self.led.on()
            case "pending":
                self.led.blink(on_time=0.25, off_time=0.25)
            case "error":
                self.led.blink(on_time=0.07, off_time=0.07)
            case _:
                self.led.off()

    def _show_rgb(self, light: Light) -> None:
        assert self.rgb is not None
        match light:
            case "pending":
                self.rgb.blink(on_time=0.25, off_time=0.25, on_color=(0, 0, 1))
            case "error":
                self.rgb.blink(on_time=0.07, off_time=0.07, on_color=(1, 0, 0))
            case _:
                self.rgb.color = RGB.get(light, (0, 0, 0))

    def close(self) -> None:
        """Release every pin; safe to call twice (gpiozero's close is idempotent)."""
        for device in (self.button, self.led, self.rgb, self.buzzer):
            if device is not None:
                device.close()
