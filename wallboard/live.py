"""Re-renders the board when it changes or a deadline passes, never on a tick."""

from __future__ import annotations

import asyncio
import math
from typing import NoReturn

from appliance.core.board import Board, seconds_to_next_change
from appliance.core.clock import Clock
from appliance.runtime.latest import Latest
from wallboard.stream import BoardStream, Snapshot, Touches, encode
from wallboard.view import BoardView, board_view, encode_view


class ViewPublisher:
    """Turns board changes into the wallboard's numbered deltas and the displays' model,
    at most one step per `min_interval_s`.

    The first change after a quiet spell is stepped at once, in the turn that changed the
    board (the MQTT message's), so the wallboard has it before the event loop does anything
    else; changes that follow within the interval are coalesced into one step by `run`
    (bursts, reconnects), which also steps when a deadline passes or the keepalive is due.
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
        self._stream = BoardStream(site_name)
        self._touches = Touches()
        self._step(keepalive=False)
        assert self._stream.model is not None
        self.models: Latest[BoardView] = Latest(self._stream.model)  # for displays drawn here
        self.deltas: Latest[bytes] = Latest(b"")  # for the web's sockets, encoded once
        self.renders = 0
        self._rendered = boards.version  # the board version the stream has
        self._next_render_at = 0.0  # loop time before which steps are coalesced
        self._deadline_moved = True  # a change other than an agent's may move the deadline
        self._sent_at = 0.0  # loop time of the last delta: the keepalive counts from it

    def view(self) -> BoardView:
        """The whole board now, worked out afresh (every time as of this instant)."""
        return board_view(
            self._boards.value, self._clock.monotonic(), self._clock.now(), self._site_name
        )

    def render(self) -> bytes:
        """`/api/board`."""
        return encode_view(self.view())

    def snapshot(self) -> bytes:
        """The whole board for a socket that joins or catches up, numbered as the stream
        stands; the deltas that follow apply to it. Boards not stepped yet (coalesced)
        are stepped first: a snapshot newer than the stream could be contradicted by
        nothing (a count back where the stream last had it, an agent come and gone)."""
        if self._boards.version != self._rendered:
            self._publish()
        return encode(Snapshot(self._stream.number, self.view()))

    def _step(self, keepalive: bool) -> bytes | None:
        delta = self._stream.step(
            self._boards.value, self._touches, self._clock.monotonic(), self._clock.now(),
            keepalive=keepalive,
        )  # fmt: skip
        self._touches.clear()
        return None if delta is None else encode(delta)

    def _publish(self, keepalive: bool = False) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self._rendered = self._boards.version
        delta = self._step(keepalive)
        if delta is not None:
            self._sent_at = started
            self.deltas.publish(delta)  # first: the wallboard's sockets, in this turn
            assert self._stream.model is not None
            self.models.publish(self._stream.model)
            self.renders += 1
        # A big board (thousands of agents in a reconnect storm) steps slowly; never
        # spend more than a fifth of the time on it, so the feed keeps up.
        took = loop.time() - started
        self._next_render_at = started + max(self._min_interval, 5 * took)

    def _board_changed(self, board: Board) -> None:
        self._touches.add(board)
        if board.touched is None or board.touched[0] != "agent":
            self._deadline_moved = True
        if asyncio.get_running_loop().time() >= self._next_render_at:
            self._publish()

    async def run(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        self._sent_at = loop.time()
        change_at: float | None = None  # loop time the board next reads differently
        with self._boards.subscribed(self._board_changed):
            while True:
                if change_at is not None and loop.time() >= change_at:
                    # A deadline passed (while waiting, coalescing or stepping): the
                    # untouched queues, the ticker and the rota are looked at again.
                    self._touches.everything = True
                    await asyncio.sleep(max(0.0, self._next_render_at - loop.time()))
                    self._publish(keepalive=True)
                    change_at = None
                if change_at is None or self._deadline_moved:
                    # An agent's message moves no deadline (but the last message's, which
                    # only comes later): the queues are not looked through again for it.
                    self._deadline_moved = False
                    delay = seconds_to_next_change(
                        self._boards.value, self._clock.monotonic(), self._clock.now()
                    )
                    change_at = loop.time() + (math.inf if delay is None else delay)
                try:
                    async with asyncio.timeout_at(min(change_at, self._sent_at + self._keepalive)):
                        await self._boards.wait_newer(self._rendered)
                except TimeoutError:
                    if loop.time() < change_at:  # the keepalive: silence is a lost appliance
                        self._touches.everything = True
                        self._publish(keepalive=True)
                    continue  # (a deadline: at the top)
                if self._boards.version == self._rendered:
                    continue  # stepped in its own turn; the next deadline may have moved
                await asyncio.sleep(max(0.0, self._next_render_at - loop.time()))
                if self._boards.version != self._rendered:
                    self._publish()
