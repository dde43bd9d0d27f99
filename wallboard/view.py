"""The board as displayed: one view model, served as `/api/board` and over `/ws`.

Numbers that are not live (queue stale, phone system offline, broker gone) are `null`:
every display shows "no data" for them, never old numbers that look current.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from appliance.core.board import (
    Board,
    agent_counts,
    agents_on_duty,
    feed_state,
    longest_wait_s,
    queue_is_stale,
    queue_level,
    shown_queues,
    ticker_messages,
)
from appliance.core.contract import AgentCounts, AgentStateName, TickerLevel
from appliance.core.hours import hours_state
from appliance.core.metrics import Level, today_figures

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


class QueueView(msgspec.Struct, frozen=True):
    queue: str
    name: str
    waiting: int | None
    longest_wait_s: int | None
    level: Level | None
    stale: bool
    agents: AgentCounts | None
    today: TodayView


class AgentView(msgspec.Struct, frozen=True):
    agent: str
    name: str
    site: str
    state: AgentStateName
    reason: str | None
    in_state_s: int | None  # None: the phone system's times could not be believed


class TickerView(msgspec.Struct, frozen=True):
    text: str
    level: TickerLevel


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


def board_view(board: Board, now: float, wall_now: datetime, site_name: str = "") -> BoardView:
    """What every display shows at monotonic time `now` (wall time `wall_now`)."""
    rules = board.rules
    local_now = wall_now.astimezone(rules.timezone)
    feed = feed_state(board, now)
    feed_live = feed in ("live", "stale")
    hours = hours_state(rules.schedule, wall_now)
    queues = []
    for entry in shown_queues(board):
        state = entry.state
        live = feed_live and not queue_is_stale(board, entry, now)
        figures = today_figures(state.today, local_now.date())
        queues.append(
            QueueView(
                queue=state.queue,
                name=state.name or state.queue,
                waiting=state.waiting if live else None,
                longest_wait_s=int(longest_wait_s(entry, now)) if live else None,
                level=queue_level(board, entry, now, hours.open) if live else None,
                stale=not live,
                agents=agent_counts(board, entry) if live else None,
                today=TodayView(
                    figures.offered,
                    figures.answered,
                    figures.abandoned,
                    figures.sl_pct,
                    figures.abandon_pct,
                    figures.asa_s,
                    figures.aht_s,
                ),
            )
        )
    agents = (
        sorted(
            (
                AgentView(
                    agent=entry.state.agent,
                    name=entry.state.name or entry.state.agent,
                    site=entry.state.site,
                    state=entry.state.state,
                    reason=entry.state.reason if entry.state.state == "paused" else None,
                    in_state_s=_whole(entry.in_state_s(now)),
                )
                for entry in agents_on_duty(board)
            ),
            key=lambda agent: (_STATE_ORDER.get(agent.state, 9), agent.name, agent.agent),
        )
        if feed_live
        else []
    )
    return BoardView(
        site=rules.site,
        site_name=site_name,
        generated_at=local_now.isoformat(timespec="seconds"),
        feed=feed,
        open=hours.open,
        next_open=(
            hours.next_open.astimezone(rules.timezone).isoformat(timespec="minutes")
            if hours.next_open
            else None
        ),
        queues=queues,
        agents=agents,
        ticker=[TickerView(m.text, m.level) for m in ticker_messages(board, wall_now)],
    )


def _whole(seconds: float | None) -> int | None:
    return None if seconds is None else int(seconds)


_encoder = msgspec.json.Encoder()


def encode_view(view: BoardView) -> bytes:
    return _encoder.encode(view)
