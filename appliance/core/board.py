"""The board: a pure fold of contract events into what this site shows.

`fold(board, event, now)` returns a new Board (or the same one when nothing changed);
freshness and the ticking longest wait are functions of the board and the monotonic
time, so the same board answers correctly at any later instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal, TypeAlias, TypeVar
from zoneinfo import ZoneInfo

from immutables import Map

from appliance.core.config import (
    AlarmsConfig,
    Config,
    MetricsConfig,
    StaffingConfig,
    build_schedule,
)
from appliance.core.contract import (
    AGENT_STATES,
    AgentCounts,
    AgentState,
    AgentUpdate,
    Event,
    FeedStatus,
    QueueState,
    QueueUpdate,
    Rota,
    RotaUpdate,
    TickerMessage,
    TickerUpdate,
)
from appliance.core.hours import Schedule, hours_state
from appliance.core.metrics import Level, TodayFigures, alarm_level, level_deadlines
from appliance.core.rota import current_shifts
from appliance.core.staffing import CLOSING_FORECAST_S, keep_samples

FeedState = Literal["live", "stale", "offline", "disconnected"]
# What the fold that made a board changed: one agent or one queue, or (None) anything.
Touched: TypeAlias = tuple[Literal["agent", "queue"], str] | None
K = TypeVar("K")
V = TypeVar("V")


def _empty() -> Map[str, V]:
    return Map()


@dataclass(frozen=True, slots=True)
class ClockSure:
    """Whether this appliance's own clock is synchronised (a Pi has no battery clock: at
    boot without a network it starts from the last shutdown's time)."""

    sure: bool


@dataclass(frozen=True, slots=True)
class Connection:
    """The broker link came up or went down (from the MQTT adapter, not the contract)."""

    connected: bool
    reason: str = ""


BoardEvent: TypeAlias = Event | Connection | ClockSure


@dataclass(frozen=True, slots=True)
class BoardRules:
    """The parts of the config that decide what the board holds and how it is judged."""

    site: str
    show_queues: tuple[str, ...] = ()
    agents_show: Literal["queues", "site"] = "queues"
    stale_after_s: float = 90.0
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    schedule: Schedule = field(default_factory=Schedule.always_open)
    staffing: StaffingConfig = field(default_factory=StaffingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    municipality_names: dict[str, str] = field(default_factory=dict)  # code → name
    show_queues_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "show_queues_set", frozenset(self.show_queues))

    @classmethod
    def from_config(
        cls, config: Config, today: date, municipality_names: dict[str, str] | None = None
    ) -> BoardRules:
        schedule = build_schedule(config.hours, range(today.year - 1, today.year + 11))
        return cls(
            site=config.site.id,
            show_queues=config.queues.show,
            agents_show=config.agents.show,
            stale_after_s=config.mqtt.stale_after_s,
            alarms=config.alarms,
            schedule=schedule,
            staffing=config.staffing,
            metrics=config.metrics,
            municipality_names=municipality_names or {},
        )

    @property
    def timezone(self) -> ZoneInfo:
        return self.schedule.timezone

    def shows_queue(self, queue: str) -> bool:
        return not self.show_queues or queue in self.show_queues


@dataclass(frozen=True, slots=True)
class QueueEntry:
    state: QueueState
    received: float  # monotonic time of arrival: ages are measured on our own clock


@dataclass(frozen=True, slots=True)
class AgentEntry:
    state: AgentState
    received: float
    entered: float  # monotonic time this appliance first saw the agent in this state
    times_believed: bool = True  # False: the payload's times cannot be true; time unknown

    def in_state_s(self, now: float) -> float | None:
        """Time in state; `since` and `ts` share the publisher's clock, so skew cancels.

        None when the payload's times could not be believed: unknown, never made up."""
        if not self.times_believed:
            return None
        if self.state.since is not None:
            published = (self.state.ts - self.state.since).total_seconds()
            return max(0.0, published + now - self.received)
        return max(0.0, now - self.entered)


@dataclass(frozen=True, slots=True)
class Board:
    rules: BoardRules
    connected: bool = False
    feed_online: bool = False
    # Persistent maps: a new board shares all but the changed entry with the old one, so a
    # message costs O(log n), not a copy of 10,000 agents.
    queues: Map[str, QueueEntry] = field(default_factory=_empty)
    agents: Map[str, AgentEntry] = field(default_factory=_empty)
    ticker: Map[str, TickerMessage] = field(default_factory=_empty)
    last_message: float | None = None  # monotonic time of the last phone-system message
    # The supervisors' rotas by day (v1.1); not the phone system's, so not "news" of it.
    rotas: Map[date, Rota] = field(default_factory=Map)
    # Per queue, (monotonic time, calls offered today) over the last half hour: the
    # arrival rate for agents needed now. Kept across reconnects (this appliance's own).
    arrivals: Map[str, tuple[tuple[float, int], ...]] = field(default_factory=Map)
    # Per queue, its agents in each state (AGENT_STATES' order), kept as agents come and
    # go: a queue whose payload has no counts is counted without a pass over everyone.
    tallies: Map[str, tuple[int, ...]] = field(default_factory=Map)
    # For displays that redo only what changed (the wallboard's deltas); not the board's
    # content, so two boards that hold the same are equal whatever made them.
    touched: Touched = field(default=None, compare=False)
    clock_sure: bool = True  # this appliance's clock synchronised (ClockSure)


def _put(mapping: Map[K, V], key: K, value: V | None) -> Map[K, V]:
    """The mapping with `key` set or removed; a persistent map shares the rest."""
    if value is None:
        return mapping.delete(key) if key in mapping else mapping
    return mapping.set(key, value)


def fold(board: Board, event: BoardEvent, now: float) -> Board:
    """The board after `event`, received at monotonic time `now`."""
    rules = board.rules
    match event:
        case Connection(connected=True):
            # Retained messages follow the subscription: rebuild from them, so entities
            # removed while we were away do not linger. The arrival samples are this
            # appliance's own observations, not the broker's: they stay.
            return Board(
                rules=rules, connected=True, arrivals=board.arrivals, clock_sure=board.clock_sure
            )
        case Connection(connected=False):
            return replace(board, connected=False, touched=None) if board.connected else board
        case FeedStatus(online=online):
            return replace(board, feed_online=online, last_message=now, touched=None)
        # The two that come by the thousand: a board made directly, every field given, as
        # dataclasses.replace costs several times more per message.
        case QueueUpdate(queue=queue, state=state):
            if not rules.shows_queue(queue):
                return board
            entry = None if state is None else QueueEntry(state, now)
            return Board(
                rules,
                board.connected,
                board.feed_online,
                _put(board.queues, queue, entry),
                board.agents,
                board.ticker,
                now,
                board.rotas,
                _arrivals(board, queue, state, now),
                board.tallies,
                ("queue", queue),
                board.clock_sure,
            )
        case AgentUpdate(agent=agent, state=state, times_believed=believed):
            agent_entry = _agent_entry(board, agent, state, now, believed)
            previous = board.agents.get(agent)
            return Board(
                rules,
                board.connected,
                board.feed_online,
                board.queues,
                _put(board.agents, agent, agent_entry),
                board.ticker,
                now,
                board.rotas,
                board.arrivals,
                _tallied(board.tallies, previous.state if previous else None, state),
                ("agent", agent),
                board.clock_sure,
            )
        case TickerUpdate(target=target, message=message):
            ticker = _put(board.ticker, target, message)
            return replace(board, ticker=ticker, last_message=now, touched=None)
        case RotaUpdate(day=day, rota=rota):  # the supervisors', not news of the phone system
            return replace(board, rotas=_put(board.rotas, day, rota), touched=None)
        case ClockSure(sure=sure):  # this appliance's own, not news of the phone system
            return (
                replace(board, clock_sure=sure, touched=None) if sure != board.clock_sure else board
            )
    return board


def _arrivals(
    board: Board, queue: str, state: QueueState | None, now: float
) -> Map[str, tuple[tuple[float, int], ...]]:
    """The queue's calls offered over the last half hour, with this message's count."""
    if state is None:
        return _put(board.arrivals, queue, None)
    if state.today is None:  # no count in this message: the samples stand
        return board.arrivals
    samples = keep_samples(board.arrivals.get(queue, ()), now, state.today.offered)
    return board.arrivals.set(queue, samples)


_STATE_INDEX = {state: index for index, state in enumerate(AGENT_STATES)}


def _tallied(
    tallies: Map[str, tuple[int, ...]], before: AgentState | None, after: AgentState | None
) -> Map[str, tuple[int, ...]]:
    """The queues' tallies with an agent's state `before` taken out and `after` put in."""
    if (
        before is not None
        and after is not None
        and (before.state == after.state and before.queues == after.queues)
    ):
        return tallies
    with tallies.mutate() as changing:
        for state, step in ((before, -1), (after, 1)):
            if state is None:
                continue
            index = _STATE_INDEX[state.state]
            for queue in set(state.queues):
                counts = list(changing.get(queue, (0,) * len(AGENT_STATES)))
                counts[index] += step
                changing[queue] = tuple(counts)
        tallied: Map[str, tuple[int, ...]] = changing.finish()
    return tallied


def _agent_entry(
    board: Board, agent: str, state: AgentState | None, now: float, believed: bool
) -> AgentEntry | None:
    if state is None:
        return None
    previous = board.agents.get(agent)
    kept = previous is not None and previous.state.state == state.state
    return AgentEntry(state, now, previous.entered if previous and kept else now, believed)


# --- reading the board at an instant ---------------------------------------------------


def queue_is_stale(board: Board, entry: QueueEntry, now: float) -> bool:
    return now - entry.received > board.rules.stale_after_s


def feed_state(board: Board, now: float) -> FeedState:
    if not board.connected:
        return "disconnected"
    if not board.feed_online:
        return "offline"
    stale_after = board.rules.stale_after_s
    if board.last_message is None or now - board.last_message > stale_after:
        return "stale"
    if any(queue_is_stale(board, entry, now) for entry in board.queues.values()):
        return "stale"
    return "live"


def longest_wait_s(entry: QueueEntry, now: float) -> float:
    """The contract's ticking longest wait: it keeps growing while callers wait."""
    state = entry.state
    return state.longest_wait_s + max(0.0, now - entry.received) if state.waiting else 0.0


def shown_queues(board: Board) -> list[QueueEntry]:
    """Queues in the configured order, else by id."""
    order = board.rules.show_queues or sorted(board.queues)
    return [board.queues[queue] for queue in order if queue in board.queues]


def agent_counts(board: Board, entry: QueueEntry) -> AgentCounts:
    """The queue's own counts, or derived from agent states when its payload has none."""
    if entry.state.agents is not None:
        return entry.state.agents
    counts = board.tallies.get(entry.state.queue, (0,) * len(AGENT_STATES))
    tally = dict(zip(AGENT_STATES, counts, strict=True))
    logged_in = sum(counts) - tally.pop("logged_out")
    return AgentCounts(logged_in=logged_in, **tally)


def agents_on_duty(board: Board) -> Iterator[AgentEntry]:
    rules = board.rules
    return (entry for entry in board.agents.values() if on_duty(rules, entry))


def on_duty(rules: BoardRules, entry: AgentEntry) -> bool:
    """Logged in, and at this site or in a queue it shows (`[agents] show`)."""
    state = entry.state
    if state.state == "logged_out":
        return False
    if rules.agents_show == "site":
        return state.site == rules.site
    return (
        not rules.show_queues
        or not state.queues
        or not rules.show_queues_set.isdisjoint(state.queues)
    )


def ticker_messages(board: Board, wall_now: datetime) -> list[TickerMessage]:
    """Messages for everyone first, then this site's own; expired ones are gone."""
    targets = ("all", board.rules.site)
    return [
        message
        for target in targets
        if (message := board.ticker.get(target)) is not None
        and (message.expires is None or message.expires > wall_now)
    ]


def seconds_to_next_change(board: Board, now: float, wall_now: datetime) -> float | None:
    """How long until the board would read differently with no new message.

    Displays re-render at that instant rather than on a fixed tick: a queue turning
    stale, a longest wait crossing an alarm threshold, a ticker message expiring.
    """
    stale_after = board.rules.stale_after_s
    deadlines: list[float] = []
    if board.last_message is not None:
        deadlines.append(board.last_message + stale_after - now)
    for entry in board.queues.values():
        deadlines.append(entry.received + stale_after - now)
        if entry.state.waiting:
            elapsed = now - entry.received
            base = entry.state.longest_wait_s + elapsed
            deadlines += level_deadlines(base, board.rules.alarms.for_queue(entry.state.queue))
    for message in board.ticker.values():
        if message.expires is not None:
            deadlines.append((message.expires - wall_now).total_seconds())
    hours = hours_state(board.rules.schedule, wall_now)
    if hours.next_change is not None:
        until_change = (hours.next_change - wall_now).total_seconds()
        deadlines.append(until_change)
        if hours.open:  # the closing forecast appears half an hour before
            deadlines.append(until_change - CLOSING_FORECAST_S)
    if board.rotas:  # a shift starts, its grace ends (missing), it ends, its grace ends
        grace = timedelta(minutes=board.rules.staffing.grace_min)
        for shift in current_shifts(board.rotas, wall_now, board.rules.timezone, grace):
            for edge in (shift.start, shift.start + grace, shift.end, shift.end + grace):
                deadlines.append((edge - wall_now).total_seconds())
    future = [deadline for deadline in deadlines if deadline > 0]
    # A hair past the instant, so that the re-render sees the change.
    return min(future) + 0.01 if future else None


def queue_level(
    board: Board,
    entry: QueueEntry,
    now: float,
    is_open: bool = True,
    figures: TodayFigures | None = None,
) -> Level:
    """The queue's alarm level (its own thresholds, and with today's `figures` the day's
    service level and abandon rate); alarms are silent while the hotline is closed."""
    if not is_open:
        return "ok"
    alarms = board.rules.alarms.for_queue(entry.state.queue)
    return alarm_level(entry.state.waiting, longest_wait_s(entry, now), alarms, figures)
