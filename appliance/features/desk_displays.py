"""Every desk's LED and OLED, driven by the same view changes as the wallboard.

`DeskDisplays` decides, in the turn a view or a desk's status changes, what each desk's
screen and LED show (a `DeskScreen` and a `Light`, each published only when it differs),
and wakes by itself only when the picture changes on its own: a longest wait ticking, the
clock's minute, an agent's minute in state. Each OLED (`OledOutput`) and each desk's GPIO
(`DeskGpio`) follows its own desk and runs supervised: an unplugged display or a pin in
use is that output's error, retried, while the rest carries on.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import tzinfo
from typing import Any, NoReturn

from PIL import Image

from appliance.core.clock import Clock
from appliance.core.config import DeskConfig, DesksConfig, OledConfig
from appliance.core.desk import Light
from appliance.drivers.gpio import BLINKING, DeskPins
from appliance.drivers.oled import BRIGHT, DIM, DeviceFactory, OledDevice
from appliance.features.desks import DeskStatus
from appliance.runtime.latest import Latest
from wallboard.desk.screen import DeskScreen, desk_texts, draw_desk
from wallboard.view import BoardView
from wallboard.words import help_text, press_text

SHIFTS = ((0, 0), (1, 0), (1, 1), (0, 1))  # a pixel's wander against burn-in
NO_SCREEN = DeskScreen(
    live=False,
    open=True,
    next_open=None,
    waiting=0,
    longest_wait_s=0,
    agent_name=None,
    state=None,
    reason=None,
    in_state_s=None,
    pending=False,
    message=None,
    clock="",
)


def desk_screen(
    status: DeskStatus, view: BoardView, grown_s: float, clock: str, *, language: str, now: float
) -> DeskScreen:
    """What a desk's screen shows, from the board view and the desk's own status.

    Times are whole as the screen shows them (seconds of the wait, minutes in state), so
    two equal screens draw the same picture and a screen changes only when its picture does.
    """
    wanted = set(status.desk.queues)
    queues = [q for q in view.queues if not wanted or q.queue in wanted]
    live = view.feed == "live" and bool(queues) and not any(q.stale for q in queues)
    waiting = sum(q.waiting or 0 for q in queues)
    longest = max(((q.longest_wait_s or 0) + grown_s for q in queues if q.waiting), default=0.0)
    agent = status.agent
    in_state = agent.in_state_s(now) if agent else 0.0
    return DeskScreen(
        live=live,
        open=view.open,
        next_open=view.next_open,
        waiting=waiting if live else 0,
        longest_wait_s=float(int(longest)) if live else 0.0,
        agent_name=(agent.state.name or agent.state.agent) if agent else None,
        state=agent.state.state if agent else None,
        reason=agent.state.reason if agent else None,
        in_state_s=None if in_state is None else float(int(in_state // 60) * 60),
        pending=status.pending is not None,
        message=press_text(status.message, language)
        if status.message
        else help_text(status.help_wanted, language)
        if status.help_wanted
        else None,
        clock=clock,
        language=language,
    )


class DeskDisplays:
    """Turns views and desk statuses into each desk's screen and light, as they change."""

    def __init__(
        self,
        statuses: Latest[dict[str, DeskStatus]],
        views: Latest[BoardView],
        *,
        clock: Clock,
        language: str,
        timezone: tzinfo,
    ) -> None:
        self._statuses = statuses
        self._views = views
        self._clock = clock
        self._language = language
        self._timezone = timezone
        desks = statuses.value
        self.screens: dict[str, Latest[DeskScreen]] = {d: Latest(NO_SCREEN) for d in desks}
        self.lights: dict[str, Latest[Light]] = {d: Latest(s.light) for d, s in desks.items()}
        self._view_at = clock.monotonic()
        self._seen_view = -1

    def update(self) -> None:
        """Publish each desk's screen and light that differ from what it shows now."""
        now = self._clock.monotonic()
        if self._views.version != self._seen_view:
            self._seen_view, self._view_at = self._views.version, now
        view, grown = self._views.value, now - self._view_at
        local = self._clock.now().astimezone(self._timezone)
        clock = f"{local:%H.%M}" if self._language == "da" else f"{local:%H:%M}"
        if not view.clock_sure:  # not synchronised yet: no time rather than a wrong one
            clock = "--.--" if self._language == "da" else "--:--"
        for desk_id, status in self._statuses.value.items():
            light = self.lights.get(desk_id)
            if light is not None and light.value != status.light:
                light.publish(status.light)
            screen = self.screens.get(desk_id)
            model = desk_screen(status, view, grown, clock, language=self._language, now=now)
            if screen is not None and screen.value != model:
                screen.publish(model)

    def _quiet_for(self) -> float:
        """Seconds until some desk's picture changes by itself."""
        now = self._clock.now()
        deadlines = [60.0 - now.second - now.microsecond / 1e6]  # the clock's minute
        mono = self._clock.monotonic()
        for desk_id, status in self._statuses.value.items():
            screen = self.screens[desk_id].value
            if screen.live and screen.waiting:
                deadlines.append(1.0 - (mono - self._view_at) % 1.0)  # the wait ticks
            if status.agent is not None:
                in_state = status.agent.in_state_s(mono)
                if in_state is not None:
                    deadlines.append(60.0 - in_state % 60.0)
        return max(0.02, min(deadlines) + 0.01)

    async def run(self) -> NoReturn:
        changed = asyncio.Event()

        def wake(_value: object) -> None:
            changed.set()

        with self._views.subscribed(wake), self._statuses.subscribed(wake):
            while True:
                changed.clear()
                self.update()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._quiet_for()):
                        await changed.wait()


@dataclass(frozen=True, slots=True)
class Frame:
    """What an OLED shows now: the picture and its lines of text."""

    image: Image.Image
    lines: tuple[str, ...]


class OledOutput:
    """One desk's OLED: made from what it reports, redrawn only when its picture changes."""

    def __init__(
        self,
        desk: str,
        config: OledConfig,
        screen: Latest[DeskScreen],
        *,
        factory: DeviceFactory,
        executor: ThreadPoolExecutor,
        clock: Clock,
        settings: DesksConfig,
    ) -> None:
        self.desk = desk
        self.config = config
        self._screen = screen
        self._factory = factory
        self._executor = executor
        self._clock = clock
        self._settings = settings
        self.frames = 0
        self.shown: Frame | None = None  # the last frame drawn (for /api/desks)
        self._changed_at = clock.monotonic()

    @property
    def output(self) -> str:
        return f"oled {self.config.name}"

    async def run(self, report_ok: Callable[[], None]) -> NoReturn:
        device = await OledDevice.open(self.config, self._factory, self._executor)
        try:
            await self._follow(device, report_ok)
        finally:
            await device.close()

    def _shift(self, now: float) -> tuple[tuple[int, int], float]:
        """Today's burn-in offset, and seconds until it moves on."""
        every = self._settings.oled_shift_every_s
        step = int(now // every)
        return SHIFTS[step % len(SHIFTS)], (step + 1) * every - now

    async def _follow(self, device: OledDevice, report_ok: Callable[[], None]) -> NoReturn:
        seen, last_model, drawn_bytes = -1, None, b""
        while True:
            seen, model = self._screen.version, self._screen.value
            now = self._clock.monotonic()
            if last_model is None or _activity(last_model) != _activity(model):
                self._changed_at = now
            last_model = model
            offset, shift_in = self._shift(now)
            image = draw_desk(model, device.size, device.mode, offset)
            quiet_for = self._settings.oled_dim_after_s - (now - self._changed_at)
            contrast = BRIGHT if quiet_for > 0 else DIM
            picture = image.tobytes() + bytes([contrast, model.open])
            if picture != drawn_bytes:  # only on change
                await device.show(image, contrast=contrast, asleep=not model.open)
                drawn_bytes = picture
                self.frames += 1
                lines = desk_texts(model).lines(device.size[1])
                self.shown = Frame(image, lines)
                report_ok()
            wake_in = min(shift_in, quiet_for if quiet_for > 0 else math.inf)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wake_in + 0.01):
                    await self._screen.wait_newer(seen)


def _activity(screen: DeskScreen) -> DeskScreen:
    """The screen without its clock: the minute turning is no sign of anyone at work."""
    return replace(screen, clock="")


class DeskGpio:
    """One desk's button, LED and buzzer, following the desk's light; supervised."""

    def __init__(
        self,
        desk: DeskConfig,
        light: Latest[Light],
        on_press: Callable[[str, float], None],
        pin_factory: Any = None,
    ) -> None:
        self.desk = desk
        self._light = light
        self._on_press = on_press
        self._pin_factory = pin_factory
        self.pins: DeskPins | None = None
        self._unreleased: DeskPins | None = None

    async def run(self, report_ok: Callable[[], None]) -> NoReturn:
        if self._unreleased is not None:  # pins a failure could not release: first those
            self._unreleased.close()
            self._unreleased = None
        pins = DeskPins(self.desk, self._on_press, self._pin_factory)
        self.pins = pins
        try:
            seen = -1
            while True:
                seen, light = self._light.version, self._light.value
                pins.show(light)
                report_ok()  # claimed and written to: the desk's pins work
                pattern, lit = BLINKING.get(light), True
                while True:  # steady: until the light changes; blinking: each half too
                    try:
                        async with asyncio.timeout(pattern[0 if lit else 1] if pattern else None):
                            await self._light.wait_newer(seen)
                        break
                    except TimeoutError:
                        lit = not lit
                        pins.phase(lit)
        finally:
            self.pins = None
            try:
                pins.close()
            except Exception:
                self._unreleased = pins  # released on the next try, before new ones are claimed
                raise


def desk_reports(
    statuses: dict[str, DeskStatus],
    screens: dict[str, OledOutput],
    gpio: dict[str, DeskGpio],
    *,
    language: str,
) -> list[dict[str, Any]]:
    """Every desk as `GET /api/desks` shows it: for a technician helping on the phone."""
    reports = []
    for desk_id, status in statuses.items():
        agent, pending, screen = status.agent, status.pending, screens.get(desk_id)
        shown = None if screen is None else screen.shown
        reports.append(
            {
                "desk": desk_id,
                "agent": agent.state.agent if agent else None,
                "agent_name": (agent.state.name or agent.state.agent) if agent else None,
                "state": agent.state.state if agent else None,
                "light": status.light,
                "gpio": desk_id in gpio and gpio[desk_id].pins is not None,
                "pending": None
                if pending is None
                else {
                    "state": pending.request.state,
                    "reason": pending.request.reason,
                    "expires": pending.expires.isoformat(timespec="seconds"),
                    "sent": pending.sent,
                },
                "message": press_text(status.message, language) if status.message else None,
                "screen": None
                if screen is None
                else {
                    "oled": screen.config.name,
                    "size": list(shown.image.size) if shown else None,
                    "lines": list(shown.lines) if shown else [],
                    "frames": screen.frames,
                },
            }
        )
    return reports
