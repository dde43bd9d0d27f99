"""Daily rows summed into days, weeks or months, with the day's figures worked out again
from the sums (a week's service level is not the average of its days')."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from appliance.core.config import ServiceLevelFormula
from appliance.core.contract import Today
from appliance.core.ledger import ledger, ledger_json
from appliance.core.metrics import today_figures

Group = Literal["day", "week", "month"]
_COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "answered_within_sl",
           "abandoned_within_sl", "wait_answered_s", "talk_s")  # fmt: skip


def period_of(day: date, group: Group) -> str:
    """ "2026-11-29", its ISO week "2026-W48", or its month "2026-11"."""
    if group == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if group == "month":
        return f"{day:%Y-%m}"
    return day.isoformat()


def in_periods(
    rows: Iterable[Mapping[str, Any]], key: str, group: Group, formula: ServiceLevelFormula
) -> list[dict[str, Any]]:
    """Per period and `key` (queue or municipality): the counts and the figures. A count a
    row does not have (a day from before v1.1, a municipality's row without short abandons)
    leaves the figures that need it "–" for the whole period: no guessing."""
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        at = (period_of(date.fromisoformat(row["day"]), group), row[key])
        total = sums.setdefault(at, dict.fromkeys(_COUNTS, 0))
        for field in _COUNTS:
            value = row.get(field)
            total[field] = None if value is None or total[field] is None else total[field] + value
    series = []
    for (period, name), total in sorted(sums.items()):
        today = Today(
            date=date.min,
            offered=total["offered"] or 0,
            answered=total["answered"] or 0,
            abandoned=total["abandoned"] or 0,
            short_abandoned=total["short_abandoned"] or 0,
            answered_within_sl=total["answered_within_sl"] or 0,
            abandoned_within_sl=total["abandoned_within_sl"],  # None: the formulas say "–"
            wait_answered_s=total["wait_answered_s"] or 0.0,
            talk_s=total["talk_s"] or 0.0,
        )
        figures = today_figures(today, date.min, formula)
        needs_short = formula != "answered"
        unknown = total["answered_within_sl"] is None or (
            needs_short and total["short_abandoned"] is None
        )
        series.append(
            {
                "period": period,
                key: name,
                "offered": today.offered,
                "answered": today.answered,
                "abandoned": today.abandoned,
                "sl_pct": None if unknown else figures.sl_pct,
                "abandon_pct": None if total["short_abandoned"] is None else figures.abandon_pct,
            }
        )
    return series


def stats_report(
    *,
    daily: Iterable[Mapping[str, Any]],
    places: Sequence[Mapping[str, Any]],
    sites: Iterable[Mapping[str, Any]],
    span: tuple[str, str],
    group: Group,
    by: Literal["queue", "municipality"],
    formula: ServiceLevelFormula,
    sl_threshold_s: float | None,
    names: Mapping[str, str],
    site_municipality: Mapping[str, str],
) -> dict[str, Any]:
    """`/api/stats`: the period per queue or municipality in days, weeks or months, and
    the period's ledger."""
    series = in_periods(places if by == "municipality" else daily, by, group, formula)
    if by == "municipality":
        for point in series:
            point["name"] = names.get(point["municipality"], "")
    book = ledger(places, sites, site_municipality, names)
    return {
        "v": 1,
        "from": span[0],
        "to": span[1],
        "group": group,
        "by": by,
        "sl_formula": formula,
        "sl_threshold_s": sl_threshold_s,
        "series": series,
        "ledger": ledger_json(book),
    }
