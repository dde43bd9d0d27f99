"""Re-renders the board view when the board changes or a deadline passes, never on a tick."""

from __future__ import annotations

import asyncio
from typing import NoReturn

from appliance.board import Board, seconds_to_next_change
from appliance.clock import Clock
from appliance.signal import Latest
from wallboard.view import BoardView, board_view, encode_view


class ViewPublisher:
    """Turns board changes into encoded board views, at most one per `min_interval_s`.

    The first change after a quiet spell is rendered at once (latency); changes that
    follow within the interval are coalesced into one render (bursts, reconnects).
    """

    def __init__(
        self,
        boards: Latest[Board],
        clock: Clock,
        site_name: str = "",
        min_interval_s: float = 0.02,
        keepalive_s: float = 30.0,
    ) -> None:
        self._boards = boards
        self._clock = clock
        self._site_name = site_name
        self._min_interval = min_interval_s
        self._keepalive = keepalive_s  # clients take silence past this as a lost appliance
        first = self.view()
        self.models: Latest[BoardView] = Latest(first)  # for displays that draw their own
        self.views: Latest[bytes] = Latest(encode_view(first))  # for the web, encoded once
        self.renders = 0

    def view(self) -> BoardView:
        return board_view(
            self._boards.value, self._clock.monotonic(), self._clock.now(), self._site_name
        )

    def render(self) -> bytes:
        return encode_view(self.view())

    async def run(self) -> NoReturn:
        seen = self._boards.version
        loop = asyncio.get_running_loop()
        while True:
            board = self._boards.value
            delay = seconds_to_next_change(board, self._clock.monotonic(), self._clock.now())
            delay = self._keepalive if delay is None else min(delay, self._keepalive)
            try:
                async with asyncio.timeout(delay):
                    seen, _ = await self._boards.wait_newer(seen)
            except TimeoutError:
                pass
            rendered_at = loop.time()
            view = self.view()
            self.views.publish(encode_view(view))  # first: the web's one task wakes first
            self.models.publish(view)
            self.renders += 1
            # A big board (thousands of agents in a reconnect storm) renders slowly; never
            # spend more than a fifth of the time rendering, so the feed keeps up.
            took = loop.time() - rendered_at
            await asyncio.sleep(max(self._min_interval - took, 4 * took))
