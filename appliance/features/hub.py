"""Where decoded messages meet the board: counts, drops and change notification."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from appliance.core.board import Board, BoardEvent, BoardRules, Connection, fold
from appliance.core.clock import Clock
from appliance.core.contract import (
    AgentUpdate,
    Event,
    QueueUpdate,
    Rejected,
    RotaUpdate,
    Topics,
    decode,
)
from appliance.core.plausible import Implausible, counts_contradict, times_implausible
from appliance.runtime.latest import Latest

log = logging.getLogger(__name__)
ROTA_DAYS_AHEAD = 45


class RateLimitedLog:
    """Logs the first drop of each kind, then at most one summary per interval."""

    def __init__(self, clock: Clock, interval_s: float = 60.0) -> None:
        self._clock = clock
        self._interval = interval_s
        self._next: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()

    def rejected(self, rejected: Rejected) -> None:
        more = self._due(rejected.reason)
        if more is not None:
            log.warning(
                "dropped %s message on %s: %s%s",
                rejected.reason,
                rejected.topic[:120],
                rejected.detail[:200],
                f" (and {more} more since the last report)" if more else "",
            )

    def implausible(self, kind: str, what: str) -> None:
        more = self._due(kind)
        if more is not None:
            log.warning(
                "implausible %s from %s: shown as unknown%s",
                kind.replace("_", " "),
                what[:120],
                f" (and {more} more since the last report)" if more else "",
            )

    def _due(self, kind: str) -> int | None:
        """None while this kind was reported within the interval; else how many were not."""
        now = self._clock.monotonic()
        if now < self._next.get(kind, 0.0):
            self._suppressed[kind] += 1
            return None
        self._next[kind] = now + self._interval
        return self._suppressed.pop(kind, 0)


class BoardHub:
    """Folds the MQTT stream into the board and tells watchers when it changed."""

    def __init__(self, rules: BoardRules, topics: Topics, clock: Clock) -> None:
        self.topics = topics
        self.clock = clock
        self.board = Latest(Board(rules))
        self.received = 0
        self.rejected: Counter[str] = Counter()
        self.implausible: Counter[str] = Counter()  # kept, with the impossible part unknown
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
        if isinstance(event, RotaUpdate):
            self._take_rota(event)
            return
        self.apply(self._judged(event))

    def _take_rota(self, update: RotaUpdate) -> None:
        """Rotas from yesterday up to `ROTA_DAYS_AHEAD`: a month's calendar published at
        once is kept for its days to come; past days are let go, so they never pile up."""
        today = self.clock.now().astimezone(self.board.value.rules.timezone).date()
        for day in [d for d in self.board.value.rotas if d < today - timedelta(days=1)]:
            self.apply(RotaUpdate(day, None))
        if today - timedelta(days=1) <= update.day <= today + timedelta(days=ROTA_DAYS_AHEAD):
            self.apply(update)

    def _judged(self, event: Event) -> Event:
        """The event, with what cannot be true marked so, and counted."""
        if isinstance(event, AgentUpdate) and event.state is not None:
            if times_implausible(event.state, self.clock.now()):
                self._implausible("agent_times", event.agent)
                return AgentUpdate(event.agent, event.state, times_believed=False)
        elif isinstance(event, QueueUpdate) and event.state is not None:
            today = event.state.today
            if today is not None and counts_contradict(today):
                self._implausible("today_counts", event.queue)
        return event

    def _implausible(self, kind: Implausible, what: str) -> None:
        self.implausible[kind] += 1
        self._drop_log.implausible(kind, what)

    def on_connection(self, connected: bool, reason: str) -> None:
        self.apply(Connection(connected, reason))

    def apply(self, event: BoardEvent) -> None:
        board = self.board.value
        updated = fold(board, event, self.clock.monotonic())
        if updated is not board:
            self.board.publish(updated)
        for listener in self._listeners:
            listener(event)
