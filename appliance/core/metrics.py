"""Pure figures derived from the contract: today's ratios and alarm levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from appliance.core.config import AlarmsConfig
from appliance.core.contract import Today
from appliance.core.plausible import counts_contradict

Level = Literal["ok", "warn", "critical"]


@dataclass(frozen=True, slots=True)
class TodayFigures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    sl_pct: float | None = None  # None where the ratio is undefined: shown as "–"
    abandon_pct: float | None = None
    asa_s: float | None = None
    aht_s: float | None = None


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    if denominator <= 0 or numerator < 0:
        return None
    ratio = numerator / denominator * scale
    # A share above the whole is no figure to show (counts_contradict catches the causes).
    return None if scale == 100.0 and ratio > 100.0 else round(ratio, 1)


def today_figures(today: Today | None, local_date: date) -> TodayFigures:
    """The contract's metrics; counts for an earlier day count as zero for today."""
    if today is None or today.date < local_date:
        return TodayFigures()
    if counts_contradict(today):  # shown as they came, but no ratio made of them
        return TodayFigures(today.offered, today.answered, today.abandoned)
    answered = today.answered
    short = min(today.short_abandoned, today.abandoned)
    return TodayFigures(
        offered=today.offered,
        answered=answered,
        abandoned=today.abandoned,
        sl_pct=_ratio(today.answered_within_sl, answered, 100.0),
        abandon_pct=_ratio(today.abandoned - short, today.offered - short, 100.0),
        asa_s=_ratio(today.wait_answered_s, answered),
        aht_s=_ratio(today.talk_s, answered),
    )


def alarm_level(waiting: int, longest_wait_s: float, alarms: AlarmsConfig) -> Level:
    if waiting == 0:
        return "ok"
    if waiting >= alarms.waiting_critical or longest_wait_s >= alarms.longest_wait_critical_s:
        return "critical"
    if waiting >= alarms.waiting_warn or longest_wait_s >= alarms.longest_wait_warn_s:
        return "warn"
    return "ok"


def level_deadlines(base_wait_s: float, alarms: AlarmsConfig) -> list[float]:
    """Seconds from now at which a growing longest wait crosses an alarm threshold."""
    return [
        threshold - base_wait_s
        for threshold in (alarms.longest_wait_warn_s, alarms.longest_wait_critical_s)
        if threshold > base_wait_s
    ]
