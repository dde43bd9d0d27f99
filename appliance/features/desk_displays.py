"""The loop that keeps every desk's LED and OLED showing its status and the queue."""

from __future__ import annotations

import asyncio
from datetime import tzinfo
from typing import NoReturn

from appliance.core.clock import Clock
from appliance.core.config import DesksConfig
from appliance.drivers.gpio import DeskPins
from appliance.drivers.oled import BRIGHT, DIM, OledScreen
from appliance.features.desks import DeskStatus
from appliance.runtime.latest import Latest
from wallboard.desk.screen import DeskScreen, draw_desk
from wallboard.view import BoardView
from wallboard.words import press_text

SHIFTS = ((0, 0), (1, 0), (1, 1), (0, 1))  # a pixel's wander against burn-in


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
        message=press_text(status.message, language) if status.message else None,
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
        self.shown: dict[str, DeskScreen] = {}  # desk id → what its last frame showed

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
            self.shown[desk_id] = model

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
