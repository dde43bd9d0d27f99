"""Parts that fail as real ones do, on demand: for the soak and the output tests."""

from __future__ import annotations

from typing import Any

from gpiozero.pins.mock import MockPin
from luma.core.device import dummy


class FlakyOled(dummy):  # type: ignore[misc]
    """luma's dummy device that fails as a real display does, while `failure` is set."""

    failure: BaseException | None = None

    def display(self, image: Any) -> None:
        if FlakyOled.failure is not None:
            raise FlakyOled.failure
        super().display(image)


class FlakyPin(MockPin):  # type: ignore[misc]
    """gpiozero's mock pin that fails as a pin on a broken GPIO expander does, on demand."""

    failing = False

    def _set_state(self, value: Any) -> None:
        if FlakyPin.failing:
            raise OSError(5, "Input/output error")
        super()._set_state(value)
