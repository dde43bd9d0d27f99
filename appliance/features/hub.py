"""Where decoded messages meet the board: counts, drops and change notification."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from appliance.core.board import Board, BoardEvent, BoardRules, Connection, fold
from appliance.core.clock import Clock
from appliance.core.contract import Rejected, Topics, decode
from appliance.runtime.latest import Latest

log = logging.getLogger(__name__)


class RateLimitedLog:
    """Logs the first drop of each kind, then at most one summary per interval."""

    def __init__(self, clock: Clock, interval_s: float = 60.0) -> None:
        self._clock = clock
        self._interval = interval_s
        self._next: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def rejected(self, rejected: Rejected) -> None:
        now = self._clock.monotonic()
        reason = rejected.reason
        if now < self._next.get(reason, 0.0):
            self._suppressed[reason] += 1
            return
        self._next[reason] = now + self._interval
        more = self._suppressed.pop(reason, 0)
        log.warning(
            "dropped %s message on %s: %s%s",
            reason,
            rejected.topic[:120],
            rejected.detail[:200],
            f" (and {more} more since the last report)" if more else "",
        )


class BoardHub:
    """Folds the MQTT stream into the board and tells watchers when it changed."""

    def __init__(self, rules: BoardRules, topics: Topics, clock: Clock) -> None:
        self.topics = topics
        self.clock = clock
        self.board = Latest(Board(rules))
        self.received = 0
        self.rejected: Counter[str] = Counter()
        self.last_message: float | None = None
        self._drop_log = RateLimitedLog(clock)
        self._listeners: list[Callable[[BoardEvent], None]] = []

    def add_listener(self, listener: Callable[[BoardEvent], None]) -> None:
        """Also hand every event, after folding it, to `listener` (desks watch results)."""
        self._listeners.append(listener)

    def on_message(self, topic: str, payload: bytes) -> None:
        event = decode(self.topics, topic, payload)
        if isinstance(event, Rejected):
            self.rejected[event.reason] += 1
            self._drop_log.rejected(event)
            return
        self.received += 1
        self.last_message = self.clock.monotonic()
        self.apply(event)

    def on_connection(self, connected: bool, reason: str) -> None:
        self.apply(Connection(connected, reason))

    def apply(self, event: BoardEvent) -> None:
        board = self.board.value
        updated = fold(board, event, self.clock.monotonic())
        if updated is not board:
            self.board.publish(updated)
        for listener in self._listeners:
            listener(event)
