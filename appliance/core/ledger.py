"""The give-and-take ledger of the municipalities that share the hotline, for any period.

Per municipality: the calls from its citizens (by the number they dialled), how many of
those were answered, abandoned, answered within the threshold, beside what its own staff
gave: calls answered by the agents of its centre (site) and the hours they were on duty.
The parts add up: the municipalities' calls are the queues' calls, and so on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from appliance.core.contract import UNKNOWN_MUNICIPALITY

Row = Mapping[str, Any]


@dataclass(slots=True)
class LedgerLine:
    municipality: str  # the three-digit code; "000": not known
    name: str
    offered: int = 0  # calls from its citizens
    answered: int = 0  # ... answered
    abandoned: int = 0
    answered_within_sl: int = 0
    staff_answered: int = 0  # calls its own staff answered (anyone's citizens)
    staff_hours: float = 0.0  # hours its own staff were on duty

    def add(self, other: LedgerLine) -> None:
        for field in fields(self)[2:]:
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    @property
    def balance(self) -> int:
        """What it gave less what it took: calls its staff answered less its citizens'."""
        return self.staff_answered - self.answered


@dataclass(frozen=True, slots=True)
class Ledger:
    lines: tuple[LedgerLine, ...]  # by name, the unknown last
    total: LedgerLine


def ledger(
    by_municipality: Iterable[Row],
    by_site: Iterable[Row],
    site_municipality: Mapping[str, str],
    names: Mapping[str, str],
) -> Ledger:
    """The ledger from the daily rows of a period (`daily_municipality`, `daily_site`);
    every municipality of `names` has a line, with or without calls."""
    lines = {code: LedgerLine(code, name) for code, name in names.items()}

    def line(code: str) -> LedgerLine:
        if code not in lines:
            lines[code] = LedgerLine(code, names.get(code, ""))
        return lines[code]

    for row in by_municipality:
        found = line(row["municipality"])
        found.offered += row["offered"] or 0
        found.answered += row["answered"] or 0
        found.abandoned += row["abandoned"] or 0
        found.answered_within_sl += row["answered_within_sl"] or 0
    for row in by_site:
        found = line(site_municipality.get(row["site"], UNKNOWN_MUNICIPALITY))
        found.staff_answered += row["answered"] or 0
        found.staff_hours += (row["on_duty_s"] or 0.0) / 3600
    ordered = sorted(  # by name, as people look them up; the unknown last
        lines.values(), key=lambda each: (each.municipality == UNKNOWN_MUNICIPALITY, each.name)
    )
    total = LedgerLine("", "")
    for each in ordered:
        total.add(each)
    return Ledger(tuple(ordered), total)


def ledger_json(book: Ledger) -> dict[str, Any]:
    """The ledger as `/api/history`, `/api/stats` and the spreadsheet export give it."""

    def one(line: LedgerLine) -> dict[str, Any]:
        return {
            "municipality": line.municipality,
            "name": line.name,
            "offered": line.offered,
            "answered": line.answered,
            "abandoned": line.abandoned,
            "answered_within_sl": line.answered_within_sl,
            "staff_answered": line.staff_answered,
            "staff_hours": round(line.staff_hours, 1),
            "balance": line.balance,
        }

    return {"lines": [one(line) for line in book.lines], "total": one(book.total)}
