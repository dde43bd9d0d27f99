"""Re-renders the board view when the board changes or a deadline passes, never on a tick."""

from __future__ import annotations

import asyncio
from typing import NoReturn

from appliance.core.board import Board, seconds_to_next_change
from appliance.core.clock import Clock
from appliance.runtime.latest import Latest
from wallboard.view import BoardView, board_view, encode_view


class ViewPublisher:
    """Turns board changes into encoded board views, at most one per `min_interval_s`.

    The first change after a quiet spell is rendered at once, in the turn that changed the
    board (the MQTT message's), so the wallboard has it before the event loop does anything
    else; changes that follow within the interval are coalesced into one render by `run`
    (bursts, reconnects), which also renders when a deadline passes.
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
        self._rendered = boards.version  # the board version the views show
        self._next_render_at = 0.0  # loop time before which renders are coalesced

    def view(self) -> BoardView:
        return board_view(
            self._boards.value, self._clock.monotonic(), self._clock.now(), self._site_name
        )

    def render(self) -> bytes:
        return encode_view(self.view())

    def _publish(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._rendered = self._boards.version
        view = self.view()
        self.views.publish(encode_view(view))  # first: the wallboard's sockets, in this turn
        self.models.publish(view)
        self.renders += 1
        # A big board (thousands of agents in a reconnect storm) renders slowly; never
        # spend more than a fifth of the time rendering, so the feed keeps up.
        took = loop.time() - started
        self._next_render_at = started + max(self._min_interval, 5 * took)

    def _board_changed(self, _board: Board) -> None:
        if asyncio.get_running_loop().time() >= self._next_render_at:
            self._publish()

    async def run(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        with self._boards.subscribed(self._board_changed):
            while True:
                board = self._boards.value
                delay = seconds_to_next_change(board, self._clock.monotonic(), self._clock.now())
                delay = self._keepalive if delay is None else min(delay, self._keepalive)
                try:
                    async with asyncio.timeout(delay):
                        await self._boards.wait_newer(self._rendered)
                    due = False
                except TimeoutError:
                    due = True  # a deadline (or the keepalive): render even if nothing changed
                if not due and self._boards.version == self._rendered:
                    continue  # rendered in its own turn; the next deadline may have moved
                await asyncio.sleep(max(0.0, self._next_render_at - loop.time()))
                if due or self._boards.version != self._rendered:
                    self._publish()
