"""The board as displayed: one view model, served as `/api/board` and over `/ws`.

Numbers that are not live (queue stale, phone system offline, broker gone) are `null`:
every display shows "no data" for them, never old numbers that look current.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import msgspec

from appliance.core.board import (
    AgentEntry,
    Board,
    QueueEntry,
    agent_counts,
    agents_on_duty,
    feed_state,
    longest_wait_s,
    queue_is_stale,
    queue_level,
    shown_queues,
    ticker_messages,
)
from appliance.core.contract import (
    UNKNOWN_MUNICIPALITY,
    AgentCounts,
    AgentState,
    AgentStateName,
    QueueState,
    Shift,
    TickerLevel,
)
from appliance.core.hours import HoursState, hours_state
from appliance.core.metrics import Level, today_figures
from appliance.core.rota import RotaStatus, covered_agents, current_shifts, rota_lines
from appliance.core.staffing import (
    CLOSING_FORECAST_S,
    agents_needed,
    arrival_rate,
    closing_forecast,
)

# Order of the agents list: who can take a call first.
_STATE_ORDER: dict[str, int] = {
    state: rank for rank, state in enumerate(("available", "ringing", "busy", "wrap_up", "paused"))
}


class TodayView(msgspec.Struct, frozen=True):
    offered: int
    answered: int
    abandoned: int
    sl_pct: float | None
    abandon_pct: float | None
    asa_s: float | None
    aht_s: float | None
    sl_formula: str = "answered"  # which of the four service levels `sl_pct` is
    sl_threshold_s: float | None = None  # within how many seconds, as the phone system counts
    aht_includes_wrap: bool = False


class MunicipalityWaiting(msgspec.Struct, frozen=True):
    code: str
    name: str
    waiting: int


class ForecastView(msgspec.Struct, frozen=True):
    closes_at: str  # ISO time of closing
    waiting_at_close: int  # callers probably still waiting then
    last_answered_at: str  # ISO time the last of them would be answered


class StaffingView(msgspec.Struct, frozen=True):
    needed: int | None  # agents needed now (Erlang C); None: not enough data yet
    serving: int  # on the phones: available, ringing, on a call or in wrap-up
    method: str = "erlang_c"
    forecast: ForecastView | None = None


class QueueView(msgspec.Struct, frozen=True):
    queue: str
    name: str
    waiting: int | None
    longest_wait_s: int | None
    level: Level | None
    stale: bool
    agents: AgentCounts | None
    today: TodayView
    staffing: StaffingView | None = None  # None when the numbers are not live
    # The callers waiting, by the municipality they called in through, most first
    # (v1.1 `callers[].municipality`); empty when the numbers are not live.
    waiting_by_municipality: list[MunicipalityWaiting] = msgspec.field(default_factory=list)


class AgentView(msgspec.Struct, frozen=True):
    agent: str
    name: str
    site: str
    state: AgentStateName
    reason: str | None
    in_state_s: int | None  # None: the phone system's times could not be believed
    scheduled: bool | None = None  # on today's rota now; None: no rota for today


class TickerView(msgspec.Struct, frozen=True):
    text: str
    level: TickerLevel


class ShiftView(msgspec.Struct, frozen=True):
    agent: str
    name: str
    site: str | None
    role: str  # phone or standby
    start: str  # "18:30"
    end: str
    status: RotaStatus  # on, expected, missing, standby
    logged_in: bool


class BoardView(msgspec.Struct, frozen=True, kw_only=True):
    v: int = 1
    site: str
    site_name: str
    generated_at: str
    feed: str
    open: bool
    next_open: str | None
    queues: list[QueueView]
    agents: list[AgentView]
    ticker: list[TickerView]
    rota: list[ShiftView] | None = None  # today's rota (done shifts left out); None: none
    # False until the appliance's clock is synchronised: its time and day may be wrong, and
    # the displays say so rather than show them.
    clock_sure: bool = True


@dataclass(frozen=True, slots=True)
class Moment:
    """What every part of the view shares at one instant: worked out once per render."""

    now: float  # monotonic
    wall_now: datetime
    local_now: datetime
    feed: str
    feed_live: bool
    is_open: bool
    next_open: str | None
    closes_in: float | None  # seconds to closing while open
    grace: timedelta
    shifts: tuple[Shift, ...]
    rota_known: bool  # live agent states and a rota for today: who is on or off it is known
    covered: frozenset[str]  # agents a shift covers now or expects later

    @classmethod
    def of(
        cls, board: Board, now: float, wall_now: datetime, hours: HoursState | None = None
    ) -> Moment:
        """The moment `now`; `hours` is the opening hours' state at `wall_now` if known."""
        rules = board.rules
        local_now = wall_now.astimezone(rules.timezone)
        feed = feed_state(board, now)
        feed_live = feed in ("live", "stale")
        hours = hours or hours_state(rules.schedule, wall_now)
        grace = timedelta(minutes=rules.staffing.grace_min)
        # Who is on or missing is only known from live agent states: without them, no rota.
        shifts = (
            current_shifts(board.rotas, wall_now, rules.timezone, grace)
            if feed_live and board.rotas
            else ()
        )
        rota_known = feed_live and (local_now.date() in board.rotas or bool(shifts))
        return cls(
            now=now,
            wall_now=wall_now,
            local_now=local_now,
            feed=feed,
            feed_live=feed_live,
            is_open=hours.open,
            next_open=(
                hours.next_open.astimezone(rules.timezone).isoformat(timespec="minutes")
                if hours.next_open
                else None
            ),
            closes_in=(
                (hours.next_change - wall_now).total_seconds()
                if hours.open and hours.next_change is not None
                else None
            ),
            grace=grace,
            shifts=shifts,
            rota_known=rota_known,
            covered=covered_agents(shifts, wall_now, grace) if rota_known else frozenset(),
        )

    @property
    def generated_at(self) -> str:
        return self.local_now.isoformat(timespec="seconds")


def board_view(board: Board, now: float, wall_now: datetime, site_name: str = "") -> BoardView:
    """What every display shows at monotonic time `now` (wall time `wall_now`)."""
    moment = Moment.of(board, now, wall_now)
    queues = QueueViews()
    on_duty = agents_on_duty(board) if moment.feed_live else ()
    return BoardView(
        site=board.rules.site,
        site_name=site_name,
        generated_at=moment.generated_at,
        feed=moment.feed,
        open=moment.is_open,
        next_open=moment.next_open,
        queues=[queues.view(board, entry, moment) for entry in shown_queues(board)],
        agents=sorted((agent_view(entry, moment) for entry in on_duty), key=agent_order),
        ticker=ticker_views(board, wall_now),
        rota=rota_views(board, moment),
        clock_sure=board.clock_sure,
    )


def agent_view(entry: AgentEntry, moment: Moment) -> AgentView:
    state = entry.state
    return AgentView(
        agent=state.agent,
        name=state.name or state.agent,
        site=state.site,
        state=state.state,
        reason=state.reason if state.state == "paused" else None,
        in_state_s=_whole(entry.in_state_s(moment.now)),
        scheduled=state.agent in moment.covered if moment.rota_known else None,
    )


def agent_order(agent: AgentView) -> tuple[int, str, str]:
    """Who can take a call first, then by name."""
    return (_STATE_ORDER.get(agent.state, 9), agent.name, agent.agent)


def ticker_views(board: Board, wall_now: datetime) -> list[TickerView]:
    return [TickerView(m.text, m.level) for m in ticker_messages(board, wall_now)]


def rota_views(board: Board, moment: Moment) -> list[ShiftView] | None:
    """Today's rota (done shifts left out); None when who is on it cannot be known."""
    if not moment.rota_known:
        return None
    # Only the agents on a shift decide its line: not a pass over everyone on the board.
    scheduled = [
        entry.state
        for agent in {shift.agent for shift in moment.shifts}
        if (entry := board.agents.get(agent)) is not None
    ]
    return _shifts(board, moment.shifts, scheduled, moment.wall_now, moment.grace)


class QueueViews:
    """Each queue's view, remembered while its inputs are the same: most messages are an
    agent's, and a queue whose inputs did not change is not worked out again."""

    def __init__(self) -> None:
        self._remembered: dict[str, tuple[tuple[object, ...], QueueView]] = {}

    def view(self, board: Board, entry: QueueEntry, moment: Moment) -> QueueView:
        live = moment.feed_live and not queue_is_stale(board, entry, moment.now)
        longest = int(longest_wait_s(entry, moment.now)) if live else None
        closes_in = moment.closes_in
        key = (
            entry,
            board.rules,
            live,
            longest,
            moment.is_open,
            None if closes_in is None else int(closes_in // 10),  # the forecast, to 10 s
            moment.local_now.date(),
            board.arrivals.get(entry.state.queue),
            # counted from the agents: the queue's tally, the same object while unchanged
            board.tallies.get(entry.state.queue) if entry.state.agents is None else None,
        )
        remembered = self._remembered.get(entry.state.queue)
        if remembered is not None and _same(remembered[0], key):
            return remembered[1]
        view = _queue_view(board, entry, moment, live=live, longest=longest)
        self._remembered[entry.state.queue] = (key, view)
        return view

    def forget_except(self, queues: set[str]) -> None:
        for queue in self._remembered.keys() - queues:
            del self._remembered[queue]


def _same(before: tuple[object, ...], now: tuple[object, ...]) -> bool:
    """The same inputs: the same objects (boards share what did not change), or equal
    plain values. Never a deep comparison of the agents."""
    return all(
        a is b or (type(a) in (bool, int, date) and a == b)
        for a, b in zip(before, now, strict=True)
    )


def _queue_view(
    board: Board, entry: QueueEntry, moment: Moment, *, live: bool, longest: int | None
) -> QueueView:
    rules = board.rules
    state = entry.state
    metrics = rules.metrics
    figures = today_figures(
        state.today, moment.local_now.date(), metrics.service_level, metrics.aht_includes_wrap
    )
    counts = agent_counts(board, entry) if live else None
    return QueueView(
        queue=state.queue,
        name=state.name or state.queue,
        waiting=state.waiting if live else None,
        longest_wait_s=longest,
        level=queue_level(board, entry, moment.now, moment.is_open, figures) if live else None,
        stale=not live,
        agents=counts,
        today=TodayView(
            figures.offered,
            figures.answered,
            figures.abandoned,
            figures.sl_pct,
            figures.abandon_pct,
            figures.asa_s,
            figures.aht_s,
            metrics.service_level,
            state.today.sl_threshold_s if state.today else None,
            metrics.aht_includes_wrap,
        ),
        staffing=None
        if counts is None
        else _staffing(
            board,
            entry,
            counts,
            handle_s=figures.aht_s,
            wall_now=moment.wall_now,
            closes_in_s=moment.closes_in,
        ),
        waiting_by_municipality=_by_municipality(state, rules.municipality_names) if live else [],
    )


def _by_municipality(state: QueueState, names: dict[str, str]) -> list[MunicipalityWaiting]:
    if not state.callers:
        return []
    counts: dict[str, int] = {}
    for caller in state.callers:
        code = caller.municipality or UNKNOWN_MUNICIPALITY
        counts[code] = counts.get(code, 0) + 1
    return [
        MunicipalityWaiting(code, names.get(code, ""), waiting)  # "": not known
        for code, waiting in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def _staffing(
    board: Board,
    entry: QueueEntry,
    counts: AgentCounts,
    *,
    handle_s: float | None,
    wall_now: datetime,
    closes_in_s: float | None,
) -> StaffingView:
    """Agents needed now, beside those on the phones; near closing, the forecast."""
    staffing = board.rules.staffing
    rate = arrival_rate(board.arrivals.get(entry.state.queue, ()))
    serving = counts.available + counts.ringing + counts.busy + counts.wrap_up
    needed = None
    if rate is not None and handle_s:
        target = staffing.sl_target_pct / 100.0
        needed = agents_needed(rate, handle_s, target, staffing.sl_threshold_s)
    forecast = None
    # Not before the arrival rate is known: a forecast without it would be hopeful.
    if (
        closes_in_s is not None
        and closes_in_s <= CLOSING_FORECAST_S
        and handle_s
        and rate is not None
    ):
        estimate = closing_forecast(entry.state.waiting, rate, serving, handle_s, closes_in_s)
        if estimate is not None:
            zone = board.rules.timezone
            closes = wall_now + timedelta(seconds=closes_in_s)
            last = closes + timedelta(seconds=estimate.clear_after_close_s)
            forecast = ForecastView(
                closes.astimezone(zone).isoformat(timespec="minutes"),
                estimate.waiting_at_close,
                last.astimezone(zone).isoformat(timespec="minutes"),
            )
    return StaffingView(needed, serving, forecast=forecast)


def _shifts(
    board: Board,
    shifts: tuple[Shift, ...],
    scheduled: list[AgentState],
    wall_now: datetime,
    grace: timedelta,
) -> list[ShiftView]:
    zone = board.rules.timezone
    views = []
    for line in rota_lines(shifts, scheduled, wall_now, grace):
        if line.status == "done":
            continue
        shift = line.shift
        known = board.agents.get(shift.agent)
        views.append(
            ShiftView(
                agent=shift.agent,
                name=shift.name
                or (known.state.name if known and known.state.name else shift.agent),
                site=shift.site or (known.state.site if known else None),
                role=shift.role,
                start=f"{shift.start.astimezone(zone):%H:%M}",
                end=f"{shift.end.astimezone(zone):%H:%M}",
                status=line.status,
                logged_in=line.logged_in,
            )
        )
    return views


def _whole(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds)


_encoder = msgspec.json.Encoder()


def encode_view(view: BoardView) -> bytes:
    return _encoder.encode(view)
