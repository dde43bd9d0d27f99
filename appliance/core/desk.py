"""A desk, decided purely: whose desk it is, what a press asks for, what the desk shows.

The phone system decides; the desk only asks. What the LED and the screen show is the
agent state the phone system confirmed, the request still pending, or why it failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from appliance.core.board import AgentEntry, Board, agent_counts
from appliance.core.config import DeskConfig, DesksConfig
from appliance.core.contract import Shift
from appliance.core.rota import standby_now

Light = Literal["off", "green", "amber", "red", "pending", "error", "help"]
Target = Literal["available", "paused"]

# Why a press was refused or how it failed; the words for each are the displays'
# (wallboard.words), so the core stays free of any language.
PressNote = Literal[
    "no_agent", "last_available", "expired", "not_sent", "refused_by_broker", "refused"
]


@dataclass(frozen=True, slots=True)
class DeskMessage:
    code: PressNote
    detail: str | None = None  # the broker's reason, the phone system's own words


@dataclass(frozen=True, slots=True)
class Request:
    agent: str
    state: Target
    reason: str | None


@dataclass(frozen=True, slots=True)
class Refusal:
    message: DeskMessage


@dataclass(frozen=True, slots=True)
class Pending:
    """A request sent (or waiting to be sent) and not yet settled."""

    press_id: str
    request: Request
    expires: datetime
    sent: bool = False


@dataclass(frozen=True, slots=True)
class Failure:
    message: DeskMessage
    until: float  # monotonic time the error pattern stops


def desk_agent(desk: DeskConfig, board: Board) -> AgentEntry | None:
    """The desk's agent: fixed, or whoever is on duty at the desk's extension."""
    if desk.agent is not None:
        return board.agents.get(desk.agent)
    for entry in board.agents.values():
        if entry.state.extension == desk.extension and entry.state.state != "logged_out":
            return entry
    return None


def _would_leave_queue_empty(board: Board, agent: AgentEntry, minimum: int) -> bool:
    if agent.state.state != "available":
        return False
    shown = set(board.rules.show_queues) or set(board.queues)
    for queue in set(agent.state.queues) & shown:
        entry = board.queues.get(queue)
        if entry is not None and agent_counts(board, entry).available - 1 < minimum:
            return True
    return False


def decide_press(
    desk: DeskConfig,
    board: Board,
    held_s: float,
    settings: DesksConfig,
    *,
    is_open: bool,
) -> Request | Refusal:
    """What a press (held for `held_s`) asks the phone system for, or why it may not."""
    agent = desk_agent(desk, board)
    if agent is None or agent.state.state == "logged_out":
        return Refusal(DeskMessage("no_agent"))
    held = held_s >= desk.hold_s
    if agent.state.state == "paused" and not held:
        return Request(agent.state.agent, "available", None)
    guard = settings.min_available
    if (
        guard
        and is_open
        and held_s < settings.override_hold_s
        and _would_leave_queue_empty(board, agent, guard)
    ):
        return Refusal(DeskMessage("last_available"))
    reason = desk.hold_reason if held else desk.pause_reason
    return Request(agent.state.agent, "paused", reason)


def settles(pending: Pending, agent: AgentEntry | None) -> bool:
    """The phone system now shows what was asked for."""
    return agent is not None and agent.state.state == pending.request.state


def desk_light(
    agent: AgentEntry | None,
    pending: Pending | None,
    failure: Failure | None,
    now: float,
    help_wanted: bool = False,
) -> Light:
    if failure is not None and now < failure.until:
        return "error"
    if pending is not None:
        return "pending"
    if help_wanted:
        return "help"
    if agent is None:
        return "off"
    match agent.state.state:
        case "available":
            return "green"
        case "paused":
            return "red"
        case "ringing" | "busy" | "wrap_up":
            return "amber"
    return "off"


def help_wanted(
    agent: AgentEntry | None, wanted: Mapping[str, int], shifts: Iterable[Shift], now: datetime
) -> int | None:
    """How many the hotline lacks, if this desk's agent is to be asked: on standby on the
    rota in a shift that is on now, paused (a press makes them available), and serving a
    queue that has been critical long enough (`wanted`: queue → agents lacking)."""
    if agent is None or agent.state.state != "paused" or not wanted:
        return None
    if not standby_now(shifts, agent.state.agent, now):
        return None
    queues = set(agent.state.queues) & set(wanted) if agent.state.queues else set(wanted)
    return max((wanted[queue] for queue in queues), default=None)
