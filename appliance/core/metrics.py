"""Pure figures derived from the contract: today's ratios and alarm levels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from appliance.core.config import AlarmsConfig, ServiceLevelFormula
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


def today_figures(
    today: Today | None,
    local_date: date,
    formula: ServiceLevelFormula = "answered",
    aht_includes_wrap: bool = False,
) -> TodayFigures:
    """The contract's metrics; counts for an earlier day count as zero for today."""
    if today is None or today.date < local_date:
        return TodayFigures()
    if counts_contradict(today):  # shown as they came, but no ratio made of them
        return TodayFigures(today.offered, today.answered, today.abandoned)
    answered = today.answered
    short = min(today.short_abandoned, today.abandoned)
    handled = today.talk_s + ((today.wrap_s or 0.0) if aht_includes_wrap else 0.0)
    return TodayFigures(
        offered=today.offered,
        answered=answered,
        abandoned=today.abandoned,
        sl_pct=service_level_pct(today, formula),
        abandon_pct=_ratio(today.abandoned - short, today.offered - short, 100.0),
        asa_s=_ratio(today.wait_answered_s, answered),
        aht_s=None if aht_includes_wrap and today.wrap_s is None else _ratio(handled, answered),
    )


def service_level_pct(today: Today, formula: ServiceLevelFormula) -> float | None:
    """The contract v1.1's four service levels; None where the denominator is 0 or a term
    is missing. A: answered within the threshold, C: after it, B: abandoned within it,
    D: after it; short abandons in none of them."""
    within = today.answered_within_sl
    after = today.answered - within
    short = min(today.short_abandoned, today.abandoned)
    abandoned = today.abandoned - short
    if formula == "answered":
        return _ratio(within, within + after, 100.0)
    if formula == "offered":  # B + D is every abandon but the short ones: no B needed
        return _ratio(within, within + after + abandoned, 100.0)
    if today.abandoned_within_sl is None:
        return None
    abandoned_within = max(0, min(today.abandoned_within_sl - short, abandoned))
    abandoned_after = abandoned - abandoned_within
    if formula == "offered_excluding_abandoned_within":
        return _ratio(within, within + after + abandoned_after, 100.0)
    return _ratio(within + abandoned_within, within + after + abandoned, 100.0)


ALARM_MIN_OFFERED = 10  # the day's ratios raise alarms from this many calls offered


def alarm_level(
    waiting: int, longest_wait_s: float, alarms: AlarmsConfig, figures: TodayFigures | None = None
) -> Level:
    """While anyone waits, the worst of: the callers waiting, the longest wait, and the
    day's service level and abandon rate (where thresholds are set). With nobody waiting
    there is nothing to act on: a bad afternoon does not keep the evening red."""
    if not waiting:
        return "ok"
    if waiting >= alarms.waiting_critical or longest_wait_s >= alarms.longest_wait_critical_s:
        return "critical"
    levels: list[Level] = [_day_level(figures, alarms) if figures else "ok"]
    if waiting >= alarms.waiting_warn or longest_wait_s >= alarms.longest_wait_warn_s:
        levels.append("warn")
    return max(levels, key=("ok", "warn", "critical").index)


def _day_level(figures: TodayFigures, alarms: AlarmsConfig) -> Level:
    if figures.offered < ALARM_MIN_OFFERED:
        return "ok"
    thresholds: tuple[tuple[Level, float | None, float | None], ...] = (
        ("critical", alarms.sl_critical_pct, alarms.abandon_critical_pct),
        ("warn", alarms.sl_warn_pct, alarms.abandon_warn_pct),
    )
    for level, sl_below, abandon_above in thresholds:
        sl, abandon = figures.sl_pct, figures.abandon_pct
        if (sl is not None and sl_below is not None and sl < sl_below) or (
            abandon is not None and abandon_above is not None and abandon > abandon_above
        ):
            return level
    return "ok"


def level_deadlines(base_wait_s: float, alarms: AlarmsConfig) -> list[float]:
    """Seconds from now at which a growing longest wait crosses an alarm threshold."""
    return [
        threshold - base_wait_s
        for threshold in (alarms.longest_wait_warn_s, alarms.longest_wait_critical_s)
        if threshold > base_wait_s
    ]
