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
# Lights that blink: seconds lit, seconds dark. Pending: quick; an error: a flash; help
# wanted: slow, seen from across the room.
BLINKING: dict[Light, tuple[float, float]] = {
    "pending": (0.25, 0.25),
    "error": (0.07, 0.07),
    "help": (0.6, 0.6),
}
BLINK_COLOURS = {"pending": (0, 0, 1), "error": (1, 0, 0), "help": (0, 1, 0)}
BEEPS: dict[Light, tuple[float, int]] = {"error": (0.1, 2), "help": (0.3, 3)}  # on/off s, n


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
        # the ones already claimed are released, so a retry does not find them taken. The
        # outputs are made without a first value (initial_value=None): gpiozero would write
        # it inside the constructor, and a write that fails there leaves the pin claimed by
        # a half-made device nobody can close. The first value is written by show().
        with contextlib.ExitStack() as built:
            self.button = built.enter_context(
                Button(desk.button, pull_up=True, pin_factory=pin_factory)
            )
            self.led = (
                built.enter_context(LED(desk.led, initial_value=None, pin_factory=pin_factory))
                if desk.led
                else None
            )
            self.rgb = (
                built.enter_context(RGBLED(*desk.rgb_led, pin_factory=pin_factory))
                if desk.rgb_led
                else None
            )
            self.buzzer = (
                built.enter_context(
                    Buzzer(desk.buzzer, initial_value=None, pin_factory=pin_factory)
                )
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
        """Set the LED to the confirmed state; a blinking light starts lit (see `phase`)."""
        if light == self.light:
            return
        self.light = light
        self.phase(True)
        if self.buzzer is not None and light in BEEPS:
            seconds, times = BEEPS[light]
            self.buzzer.beep(on_time=seconds, off_time=seconds, n=times)

    def phase(self, lit: bool) -> None:
        """One half of a blinking light's pattern (BLINKING), or the steady light.

        The blinking is the caller's (the desk's task), not a gpiozero background thread:
        a pin that fails mid-pattern then fails in the caller, where it is reported.
        """
        light = self.light or "off"
        if self.rgb is not None:
            colour = BLINK_COLOURS.get(light) if light in BLINKING else RGB.get(light)
            self.rgb.color = colour if lit and colour else (0, 0, 0)
        elif self.led is not None:
            on = lit if light in BLINKING else light == "green"
            self.led.value = 1 if on else 0

    def close(self) -> None:
        """Release every pin; safe to call again after a failure (gpiozero's close is
        idempotent). One that fails to let go does not keep the others: all are tried, then
        the first failure is raised, so the owner can try again before claiming the pins."""
        failure: Exception | None = None
        for device in (self.button, self.led, self.rgb, self.buzzer):
            if device is not None:
                try:
                    device.close()
                except Exception as error:  # noqa: BLE001 - raised below, after the rest
                    failure = failure or error
        if failure is not None:
            raise failure
