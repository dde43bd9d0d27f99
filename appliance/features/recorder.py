"""Keeps history: turns successive boards into rows and writes them in batches.

Queue snapshots are coalesced to at most one row per queue per `snapshot_interval_s`;
agent state changes and feed changes are rows of their own; today's statistics per
queue are kept in memory and upserted. Everything waits in memory until the next flush,
once a minute by default, so the SD card sees one small write a minute.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, NamedTuple, NoReturn
from zoneinfo import ZoneInfo

from appliance.core.board import Board, QueueEntry, agent_counts, feed_state, longest_wait_s
from appliance.core.clock import Clock
from appliance.core.config import HistoryConfig, MetricsConfig
from appliance.core.health import Outputs
from appliance.core.metrics import today_figures
from appliance.drivers.store import AsyncStore, Row
from appliance.runtime.latest import Latest

log = logging.getLogger(__name__)
MAX_PENDING_ROWS = 20_000  # a day of a busy evening; beyond it the oldest go first
# A reconnect storm brings thousands of agent rows at once: written in batches of this size
# rather than all held until the next flush (they would pin memory the process keeps).
FLUSH_AT_ROWS = 1_000


class AgentEvent(NamedTuple):
    """A row of agent_events. A tuple, not a dict: a storm brings thousands at once."""

    ts: str
    agent: str
    site: str
    state: str
    reason: str | None


@dataclass(slots=True)
class Pending:
    snapshots: list[Row] = field(default_factory=list)
    agent_events: list[AgentEvent] = field(default_factory=list)
    events: list[Row] = field(default_factory=list)
    # The day's rows, rewritten (upserted) by every flush until the day is over.
    daily: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    by_municipality: dict[tuple[str, str, str], Row] = field(default_factory=dict)
    by_site: dict[tuple[str, str], Row] = field(default_factory=dict)

    def rows(self) -> int:
        return len(self.snapshots) + len(self.agent_events) + len(self.events)

    def take(self) -> Pending:
        taken = Pending(
            self.snapshots,
            self.agent_events,
            self.events,
            dict(self.daily),
            dict(self.by_municipality),
            dict(self.by_site),
        )
        self.snapshots, self.agent_events, self.events = [], [], []
        return taken

    def forget_before(self, day: str) -> None:
        """Days before `day` are written: only today's rows stay, for their peaks."""
        self.daily = {key: row for key, row in self.daily.items() if key[0] >= day}
        self.by_municipality = {k: row for k, row in self.by_municipality.items() if k[0] >= day}
        self.by_site = {key: row for key, row in self.by_site.items() if key[0] >= day}

    def put_back(self, batch: Pending) -> int:
        """Return an unwritten batch to the front; returns how many rows had to go."""
        self.snapshots[:0] = batch.snapshots
        self.agent_events[:0] = batch.agent_events
        self.events[:0] = batch.events
        dropped = 0
        rows: list[Any]
        for rows in (self.snapshots, self.agent_events, self.events):
            excess = len(rows) - MAX_PENDING_ROWS
            if excess > 0:
                del rows[:excess]
                dropped += excess
        return dropped


class HistoryRecorder:
    def __init__(
        self,
        boards: Latest[Board],
        store: AsyncStore,
        clock: Clock,
        config: HistoryConfig,
        outputs: Outputs,
        *,
        observe_pause_s: float = 1.0,
    ) -> None:
        self._boards = boards
        self._pause = min(observe_pause_s, config.snapshot_interval_s)
        self._store = store
        self._clock = clock
        self._config = config
        self._outputs = outputs
        self.pending = Pending()
        self._written: dict[str, tuple[float, tuple[object, ...]]] = {}  # queue → (when, what)
        self._due: dict[str, Row] = {}  # newest unwritten snapshot per queue
        self._agents: dict[str, str] = {}
        self._feed = ""
        self._last_board: Board | None = None

    # --- observing (pure bookkeeping, no I/O) ------------------------------------------

    def observe(self, board: Board) -> None:
        now, wall = self._clock.monotonic(), self._clock.now()
        now_stamp = stamp(wall)
        local_day = wall.astimezone(board.rules.timezone).date()
        feed = feed_state(board, now)
        if feed != self._feed:
            self.pending.events.append({"ts": now_stamp, "kind": "feed", "detail": feed})
            self._feed = feed
        previous = self._last_board
        if previous is None or board.agents is not previous.agents:
            self._observe_agents(board, now_stamp)
            self._observe_sites(board, local_day.isoformat())
        for entry in board.queues.values():
            self._observe_queue(board, entry, now, now_stamp, local_day.isoformat())
        self._release_due_snapshots(now)
        self._last_board = board

    def _observe_agents(self, board: Board, stamp: str) -> None:
        if len(self._agents) > len(board.agents):  # forget who left (a burst's thousands)
            # A new dict: one emptied by deleting keeps the table its thousands needed.
            self._agents = {a: s for a, s in self._agents.items() if a in board.agents}
        for agent, entry in board.agents.items():
            state = entry.state
            if self._agents.get(agent) != state.state:
                self._agents[agent] = state.state
                self.pending.agent_events.append(
                    AgentEvent(stamp, agent, state.site, state.state, state.reason)
                )

    def _observe_queue(
        self, board: Board, entry: QueueEntry, now: float, stamp: str, day: str
    ) -> None:
        state = entry.state
        counts = agent_counts(board, entry)
        longest = round(longest_wait_s(entry, now), 1)
        what = (state.waiting, state.longest_wait_s, state.ts, counts)
        written = self._written.get(state.queue)
        if written is None or written[1] != what:
            self._due[state.queue] = {
                "ts": stamp,
                "queue": state.queue,
                "waiting": state.waiting,
                "longest_wait_s": longest,
                "available": counts.available,
                "busy": counts.busy + counts.ringing + counts.wrap_up,
                "paused": counts.paused,
            }
            self._written[state.queue] = (written[0] if written else -1e9, what)
        if state.today is not None and state.today.date.isoformat() == day:
            self._observe_day(day, state.queue, entry, longest, board.rules.metrics)

    def _observe_day(
        self, day: str, queue: str, entry: QueueEntry, longest: float, metrics: MetricsConfig
    ) -> None:
        today = entry.state.today
        assert today is not None
        # The figures as the displays show them ([metrics]); the raw counts beside them.
        figures = today_figures(today, today.date, metrics.service_level, metrics.aht_includes_wrap)
        row = self.pending.daily.get((day, queue), {})
        self.pending.daily[(day, queue)] = {
            "day": day,
            "queue": queue,
            "offered": figures.offered,
            "answered": figures.answered,
            "abandoned": figures.abandoned,
            "sl_pct": figures.sl_pct,
            "abandon_pct": figures.abandon_pct,
            "asa_s": figures.asa_s,
            "aht_s": figures.aht_s,
            "peak_waiting": max(row.get("peak_waiting") or 0, entry.state.waiting),
            "longest_wait_s": max(row.get("longest_wait_s") or 0.0, longest),
            # The raw counts: any service level, any week or month, from them.
            "short_abandoned": today.short_abandoned,
            "answered_within_sl": today.answered_within_sl,
            "abandoned_within_sl": today.abandoned_within_sl,
            "wait_answered_s": today.wait_answered_s,
            "talk_s": today.talk_s,
            "wrap_s": today.wrap_s,
        }
        for code, counts in (today.by_municipality or {}).items():
            self.pending.by_municipality[(day, queue, code)] = {
                "day": day,
                "queue": queue,
                "municipality": code,
                "offered": counts.offered,
                "answered": counts.answered,
                "abandoned": counts.abandoned,
                "answered_within_sl": counts.answered_within_sl,
            }

    def _observe_sites(self, board: Board, day: str) -> None:
        """Each site's staff for the day (v1.1 agents' `today`): answered, talk, on duty."""
        sites: dict[str, Row] = {}
        for entry in board.agents.values():
            state = entry.state
            if state.today is None or state.today.date.isoformat() != day:
                continue
            row = sites.setdefault(
                state.site,
                {"day": day, "site": state.site, "agents": 0, "answered": 0,
                 "talk_s": 0.0, "wrap_s": 0.0, "on_duty_s": 0.0},
            )  # fmt: skip
            row["agents"] += 1
            row["answered"] += state.today.answered
            row["talk_s"] += state.today.talk_s
            row["wrap_s"] += state.today.wrap_s
            row["on_duty_s"] += state.today.on_duty_s
        for site, row in sites.items():
            self.pending.by_site[(day, site)] = row

    def _release_due_snapshots(self, now: float) -> None:
        interval = self._config.snapshot_interval_s
        for queue in list(self._due):
            when, what = self._written[queue]
            if now - when >= interval:
                self.pending.snapshots.append(self._due.pop(queue))
                self._written[queue] = (now, what)

    # --- writing -----------------------------------------------------------------------

    async def load_today(self, timezone: ZoneInfo) -> None:
        """Pick up today's peaks from before a restart, so they are not overwritten."""
        day = self._clock.now().astimezone(timezone).date().isoformat()
        for row in await self._store.run(lambda store: store.daily(day, day)):
            self.pending.daily[(row["day"], row["queue"])] = row

    async def flush(self) -> bool:
        """Write what is pending; False if the disk refused it (it is kept for later)."""
        batch = self.pending.take()
        if not (
            batch.snapshots
            or batch.agent_events
            or batch.events
            or batch.daily
            or batch.by_municipality
            or batch.by_site
        ):
            return True
        try:
            await self._store.run(
                lambda store: store.write_batch(
                    snapshots=batch.snapshots,
                    agent_events=(event._asdict() for event in batch.agent_events),  # as written
                    events=batch.events,
                    daily=batch.daily.values(),
                    by_municipality=batch.by_municipality.values(),
                    by_site=batch.by_site.values(),
                )
            )
        except Exception as error:  # noqa: BLE001 - a failing disk must not stop the displays
            dropped = self.pending.put_back(batch)
            self._outputs.error("history", f"cannot write: {error}")
            log.error("history not written (kept in memory, %d rows dropped): %s", dropped, error)
            return False
        self._outputs.ok("history")
        # Today's rows stay in memory for their peaks; older days are done.
        self.pending.forget_before(max((day for day, _ in batch.daily), default=""))
        return True

    async def prune(self) -> None:
        config = self._config
        removed = await self._store.run(
            lambda store: store.prune(
                self._clock.now(), config.keep_daily_days, config.keep_snapshots_days
            )
        )
        if removed:
            log.info("history: pruned %d old rows", removed)

    async def run(self) -> NoReturn:
        config = self._config
        seen = -1
        next_flush = self._clock.monotonic() + config.flush_interval_s
        next_prune = self._clock.monotonic()
        writable = True
        try:
            while True:
                wait = min(config.snapshot_interval_s, next_flush - self._clock.monotonic())
                try:
                    async with asyncio.timeout(max(wait, 0.0)):
                        seen, _ = await self._boards.wait_newer(seen)
                except TimeoutError:
                    pass
                self.observe(self._boards.value)
                now = self._clock.monotonic()
                # Early for a storm, but a failing disk is tried only at the interval.
                if now >= next_flush or (writable and self.pending.rows() >= FLUSH_AT_ROWS):
                    writable = await self.flush()
                    next_flush = now + config.flush_interval_s
                if now >= next_prune:
                    await self.prune()
                    next_prune = now + 86_400
                # Coalescing: however busy the feed, look again only after a short pause.
                await asyncio.sleep(self._pause)
        finally:
            await asyncio.shield(self.flush())  # what was observed is written on shutdown


def stamp(wall: datetime) -> str:
    """Times are stored as UTC ISO text, so that text order is time order."""
    return wall.astimezone(UTC).isoformat(timespec="seconds")


def local_midnight(wall: datetime, timezone: ZoneInfo) -> str:
    """The start of `wall`'s local day, stamped like the rows it selects."""
    local = wall.astimezone(timezone)
    return stamp(datetime.combine(local.date(), time(0), timezone))
