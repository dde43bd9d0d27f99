"""The board as a numbered stream for the wallboard's sockets: a whole board, then deltas.

A delta (numbered n + 1 after n) says what changed: queues and agents set or removed, the
feed, the hours, the ticker, the rota. Every part is a value to set, never an amount to
add, so a delta applied to a board newer than its base (a whole board rendered while the
delta was on its way) still leaves the board right; a client that sees a gap in the
numbers asks for a whole board again.

The times that tick (an agent's time in state, a queue's longest wait) are not news: the
page counts them on from when it got them. A view that differs only by a time that has
grown as the clock did is not sent again.

Work per message is proportional to what changed. The fold says which agent or queue it
touched (`Board.touched`); only those are viewed again, and a full pass (a deadline, the
keepalive, a reconnect, the ticker, a rota) compares the rest by identity.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from appliance.core.board import AgentEntry, Board, longest_wait_s, on_duty, shown_queues
from appliance.core.hours import HoursState, Schedule, hours_state
from appliance.core.staffing import CLOSING_FORECAST_S
from wallboard.view import (
    AgentView,
    BoardView,
    Moment,
    QueueView,
    QueueViews,
    ShiftView,
    TickerView,
    agent_order,
    agent_view,
    rota_views,
    ticker_views,
)


class Snapshot(msgspec.Struct, frozen=True, tag="board", tag_field="type"):
    """The whole board, as the stream stands at `n`."""

    n: int
    board: BoardView


class Delta(msgspec.Struct, frozen=True, kw_only=True, tag="delta", tag_field="type"):
    """What changed after `n - 1`; a part left out did not change."""

    n: int
    generated_at: str
    feed: str | UnsetType = UNSET
    open: bool | UnsetType = UNSET
    next_open: str | UnsetType | None = UNSET
    queues: list[QueueView] | UnsetType = UNSET  # new or changed, by `queue`
    queue_order: list[str] | UnsetType = UNSET  # the queues shown, when that changed
    agents: list[AgentView] | UnsetType = UNSET  # new or changed, by `agent`
    agents_removed: list[str] | UnsetType = UNSET  # no longer on duty
    ticker: list[TickerView] | UnsetType = UNSET
    rota: list[ShiftView] | UnsetType | None = UNSET
    clock_sure: bool | UnsetType = UNSET


_encoder = msgspec.json.Encoder()


def encode(message: Snapshot | Delta) -> bytes:
    return _encoder.encode(message)


@dataclass(slots=True)
class Touches:
    """What the boards folded since the last step changed (`Board.touched`)."""

    agents: set[str] = field(default_factory=set)
    queues: set[str] = field(default_factory=set)
    everything: bool = True  # a reconnect, the ticker, a rota, the feed, a deadline

    def add(self, board: Board) -> None:
        match board.touched:
            case ("agent", agent):
                self.agents.add(agent)
            case ("queue", queue):
                self.queues.add(queue)
            case _:
                self.everything = True

    def clear(self) -> None:
        self.agents.clear()
        self.queues.clear()
        self.everything = False


@dataclass(slots=True)
class _Sent:
    """A view as last sent, and when its ticking time started (monotonic; None: none)."""

    view: Any  # QueueView | AgentView
    started: float | None


def _news(sent: _Sent | None, view: QueueView | AgentView, started: float | None) -> bool:
    """Whether `view` says more than what was sent, beyond its time having ticked on."""
    if sent is None:
        return True
    if sent.view == view:
        return False
    if started is None or sent.started is None or abs(started - sent.started) >= 1.0:
        return True
    moved: AgentView | QueueView
    if isinstance(view, AgentView):
        moved = msgspec.structs.replace(view, in_state_s=sent.view.in_state_s)
    else:
        moved = msgspec.structs.replace(view, longest_wait_s=sent.view.longest_wait_s)
    return bool(moved != sent.view)


def _forecast_step(moment: Moment | None) -> int | None:
    """The closing forecast's 10-second step, in the half hour it is shown."""
    if moment is None or moment.closes_in is None or moment.closes_in > CLOSING_FORECAST_S:
        return None
    return int(moment.closes_in // 10)


def _started(ticking_s: int | None, now: float) -> float | None:
    return None if ticking_s is None else now - ticking_s


class BoardStream:
    """The board as the wallboard's sockets were last told it, and what changed since.

    `model` is the whole board as of the last step, for the displays drawn here; an
    agent's time in state in it is as of the agent's last change (the displays count on).
    """

    def __init__(self, site_name: str = "") -> None:
        self._site_name = site_name
        self._queue_views = QueueViews()
        self.number = 0
        self._agents: dict[str, tuple[AgentEntry, _Sent]] = {}  # on duty, as last sent
        self._order: list[tuple[int, str, str]] = []  # each agent's agent_order, sorted
        self._sorted: list[AgentView] = []  # their views, in that order
        self._queues: dict[str, _Sent] = {}  # as last sent
        self._queue_models: dict[str, QueueView] = {}  # as last viewed (the model's)
        self._queue_order: list[str] = []
        self._moment: Moment | None = None
        self._ticker: list[TickerView] = []
        self._rota: list[ShiftView] | None = None
        self._rules: object = None
        self._hours_known: tuple[Schedule, datetime, datetime, HoursState] | None = None
        self.model: BoardView | None = None
        self._clock_sure = True

    def step(
        self, board: Board, touches: Touches, now: float, wall_now: datetime, *,
        keepalive: bool = False,
    ) -> Delta | None:  # fmt: skip
        """The delta from the last step to `board` (None if nothing shown changed and no
        `keepalive` is due); `model` is updated either way."""
        moment = Moment.of(board, now, wall_now, self._hours(board, wall_now))
        before = self._moment
        # What an agent's view says besides its own state: whether a shift covers it.
        rescheduled = (
            before is None
            or board.rules is not self._rules
            or moment.rota_known != before.rota_known
            or moment.covered != before.covered
        )
        full = (
            rescheduled
            or before is None  # (implied: said again for the type checker)
            or touches.everything
            or moment.feed_live != before.feed_live
            or moment.is_open != before.is_open
            or moment.local_now.date() != before.local_now.date()
        )
        self._moment, self._rules = moment, board.rules
        changes: dict[str, Any] = {}
        if before is None or moment.feed != before.feed:
            changes["feed"] = moment.feed
        if before is None or moment.is_open != before.is_open:
            changes["open"] = moment.is_open
        if before is None or moment.next_open != before.next_open:
            changes["next_open"] = moment.next_open
        if before is None or board.clock_sure != self._clock_sure:
            self._clock_sure = changes["clock_sure"] = board.clock_sure
        self._step_queues(board, touches, moment, before, changes, full=full)
        rota_touched = self._step_agents(
            board, touches, moment, changes, full=full, rescheduled=rescheduled
        )
        if full or rota_touched:
            rota = rota_views(board, moment)
            if rota != self._rota or before is None:
                self._rota = changes["rota"] = rota
        if full:
            ticker = ticker_views(board, wall_now)
            if ticker != self._ticker or before is None:
                self._ticker = changes["ticker"] = ticker
        self.model = BoardView(
            site=board.rules.site,
            site_name=self._site_name,
            generated_at=moment.generated_at,
            feed=moment.feed,
            open=moment.is_open,
            next_open=moment.next_open,
            queues=[self._queue_models[queue] for queue in self._queue_order],
            agents=list(self._sorted),
            ticker=self._ticker,
            rota=self._rota,
            clock_sure=board.clock_sure,
        )
        if not changes and not keepalive:
            return None
        self.number += 1
        return Delta(n=self.number, generated_at=moment.generated_at, **changes)

    def _hours(self, board: Board, wall_now: datetime) -> HoursState:
        """The opening hours' state, worked out again only when it changes."""
        schedule = board.rules.schedule
        known = self._hours_known
        if known is None or known[0] is not schedule or not known[1] <= wall_now < known[2]:
            state = hours_state(schedule, wall_now)
            until = state.next_change or wall_now + timedelta(hours=1)
            known = self._hours_known = (schedule, wall_now, until, state)
        return known[3]

    def _step_queues(
        self, board: Board, touches: Touches, moment: Moment, before: Moment | None,
        changes: dict[str, Any], *, full: bool,
    ) -> None:  # fmt: skip
        if full or touches.queues:
            entries = shown_queues(board)
            order = [entry.state.queue for entry in entries]
            if order != self._queue_order:
                changes["queue_order"] = order
                for gone in set(self._queue_order) - set(order):
                    self._queues.pop(gone, None)
                    self._queue_models.pop(gone, None)
                self._queue_views.forget_except(set(order))
                self._queue_order = order
        else:
            entries = [board.queues[queue] for queue in self._queue_order]
        # The closing forecast moves in steps of 10 s in the last half hour.
        forecast_moved = full or _forecast_step(moment) != _forecast_step(before)
        changed = []
        for entry in entries:
            queue = entry.state.queue
            # An agent's message leaves the other queues as they were, but for the waits
            # that tick (the model's, for the sign and the desks; the pages count them
            # themselves) and counts made from the agents (a publisher that sends none).
            if not (forecast_moved or queue in touches.queues or entry.state.agents is None):
                model = self._queue_models.get(queue)
                if entry.state.waiting and model is not None and model.longest_wait_s is not None:
                    longest = int(longest_wait_s(entry, moment.now))
                    if longest != model.longest_wait_s:
                        self._queue_models[queue] = msgspec.structs.replace(
                            model, longest_wait_s=longest
                        )
                continue
            view = self._queue_views.view(board, entry, moment)
            self._queue_models[queue] = view
            started = _started(view.longest_wait_s, moment.now)
            sent = self._queues.get(queue)
            if _news(sent, view, started):
                self._queues[queue] = _Sent(view, started)
                changed.append(view)
        if changed:
            changes["queues"] = changed

    def _step_agents(
        self, board: Board, touches: Touches, moment: Moment, changes: dict[str, Any], *,
        full: bool, rescheduled: bool,
    ) -> bool:  # fmt: skip
        """Agents who came, changed or went; whether any of them is on the rota."""
        names = board.agents.keys() | self._agents.keys() if full else touches.agents
        rules = board.rules
        changed, removed = [], []
        rota_agents = {shift.agent for shift in moment.shifts}
        on_rota = False
        for agent in names:
            # A shift's line reads its agent whether on duty or not (a name, logged in).
            on_rota = on_rota or agent in rota_agents
            entry = board.agents.get(agent) if moment.feed_live else None
            known = self._agents.get(agent)
            if entry is None or not on_duty(rules, entry):
                if known is not None:
                    self._drop(agent, known[1].view)
                    removed.append(agent)
                continue
            if known is not None and known[0] is entry and not rescheduled:
                continue
            view = agent_view(entry, moment)
            started = _started(view.in_state_s, moment.now)
            sent = known[1] if known is not None else None
            if sent is not None and not _news(sent, view, started):
                self._agents[agent] = (entry, sent)
                continue
            if sent is not None:
                self._drop(agent, sent.view)
            self._put(agent, entry, _Sent(view, started))
            changed.append(view)
        if changed:
            changes["agents"] = changed
        if removed:
            changes["agents_removed"] = removed
        return on_rota

    def _put(self, agent: str, entry: AgentEntry, sent: _Sent) -> None:
        key = agent_order(sent.view)
        index = bisect_left(self._order, key)
        self._order.insert(index, key)
        self._sorted.insert(index, sent.view)
        self._agents[agent] = (entry, sent)

    def _drop(self, agent: str, view: AgentView) -> None:
        index = bisect_left(self._order, agent_order(view))
        del self._order[index]
        del self._sorted[index]
        del self._agents[agent]


# The parts a delta carries whole when they change.
_WHOLE = ("feed", "open", "next_open", "ticker", "rota", "clock_sure")


def view_delta(before: BoardView, after: BoardView, number: int) -> Delta:
    """The delta between two whole views, by comparing them (for servers that are handed
    views rather than boards: the tests' and the screenshots')."""
    changes: dict[str, Any] = {}
    for name in _WHOLE:
        if getattr(before, name) != getattr(after, name):
            changes[name] = getattr(after, name)
    old_queues = {queue.queue: queue for queue in before.queues}
    queues = [queue for queue in after.queues if old_queues.get(queue.queue) != queue]
    if queues:
        changes["queues"] = queues
    if [queue.queue for queue in after.queues] != list(old_queues):
        changes["queue_order"] = [queue.queue for queue in after.queues]
    old_agents = {agent.agent: agent for agent in before.agents}
    agents = [agent for agent in after.agents if old_agents.get(agent.agent) != agent]
    if agents:
        changes["agents"] = agents
    removed = old_agents.keys() - {agent.agent for agent in after.agents}
    if removed:
        changes["agents_removed"] = sorted(removed)
    return Delta(n=number, generated_at=after.generated_at, **changes)


def apply_delta(view: BoardView, delta: Delta) -> BoardView:
    """What a page makes of `delta` on `view` (the page's own is in static/app.js)."""
    changes: dict[str, Any] = {"generated_at": delta.generated_at}
    for name in _WHOLE:
        if getattr(delta, name) is not UNSET:
            changes[name] = getattr(delta, name)
    queues = {queue.queue: queue for queue in view.queues}
    if delta.queues is not UNSET:
        queues |= {queue.queue: queue for queue in delta.queues}
    order = [q.queue for q in view.queues] if delta.queue_order is UNSET else delta.queue_order
    changes["queues"] = [queues[queue] for queue in order if queue in queues]
    agents = {agent.agent: agent for agent in view.agents}
    if delta.agents is not UNSET:
        agents |= {agent.agent: agent for agent in delta.agents}
    if delta.agents_removed is not UNSET:
        for agent in delta.agents_removed:
            agents.pop(agent, None)
    changes["agents"] = sorted(agents.values(), key=agent_order)
    return msgspec.structs.replace(view, **changes)
