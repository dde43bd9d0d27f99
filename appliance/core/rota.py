"""The rota against the board: who is on, expected, missing, on standby, or on duty
without a shift, at any instant (reading rota files is `rota_files`).

Each phone shift is on (its agent logged in, from any time before its end), expected
(not yet, or within the grace after its start), missing (after the grace), or done;
anyone on duty whom no shift covers now and none later today expects is unscheduled.
Shifts are filed under the day they start: one from 22:00 to 01:00 is yesterday's after
midnight, and `current_shifts` includes it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Literal

from appliance.core.contract import AgentState, Rota, Shift

# --- the rota against the board --------------------------------------------------------

RotaStatus = Literal["on", "expected", "missing", "done", "standby"]


@dataclass(frozen=True, slots=True)
class RotaLine:
    shift: Shift
    status: RotaStatus
    logged_in: bool


def rota_lines(
    shifts: Iterable[Shift], on_duty: Iterable[AgentState], now: datetime, grace: timedelta
) -> list[RotaLine]:
    """Each shift of the day as it stands at `now`, in the order they start."""
    logged_in = {state.agent for state in on_duty if state.state != "logged_out"}
    lines = []
    for shift in sorted(shifts, key=lambda s: (s.start, s.role, s.name or s.agent)):
        here = shift.agent in logged_in
        if shift.role == "standby":
            status: RotaStatus = "standby" if now < shift.end else "done"
        elif now >= shift.end:
            status = "done"  # (staying on a little is within the grace: not unscheduled)
        elif here:
            status = "on"  # early is on too: they came for this shift
        elif now >= shift.start + grace and not here:
            status = "missing"
        else:
            status = "expected"
        lines.append(RotaLine(shift, status, here))
    return lines


def covered_agents(shifts: Iterable[Shift], now: datetime, grace: timedelta) -> frozenset[str]:
    """Agents whom a shift (phone or standby) covers now or expects later."""
    return frozenset(shift.agent for shift in shifts if now < shift.end + grace)


def unscheduled(
    shifts: Iterable[Shift], on_duty: Iterable[AgentState], now: datetime, grace: timedelta
) -> set[str]:
    """Agents on duty whom no shift (phone or standby) covers now, nor expects later."""
    covered = covered_agents(shifts, now, grace)
    return {s.agent for s in on_duty if s.state != "logged_out" and s.agent not in covered}


def standby_now(shifts: Iterable[Shift], agent: str, now: datetime) -> bool:
    """`agent` is on standby in a shift that is on now (never outside it)."""
    return any(
        shift.agent == agent and shift.role == "standby" and shift.start <= now < shift.end
        for shift in shifts
    )


def current_shifts(
    rotas: Mapping[date, Rota], now: datetime, zone: tzinfo, grace: timedelta
) -> tuple[Shift, ...]:
    """Today's shifts, and yesterday's that still run (or just ended): past midnight a
    22:00–01:00 shift is yesterday's."""
    today = now.astimezone(zone).date()
    shifts: list[Shift] = []
    yesterday = rotas.get(today - timedelta(days=1))
    if yesterday is not None:
        shifts += [shift for shift in yesterday.shifts if shift.end + grace > now]
    rota = rotas.get(today)
    if rota is not None:
        shifts += rota.shifts
    return tuple(shifts)
