"""`hotline history export`: the history for the steering group, as CSV, JSON or a
spreadsheet (xlsx), by queue, by municipality (the give-and-take) or by site (centre)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.core.contract import UNKNOWN_MUNICIPALITY
from appliance.core.errors import HotlineError
from appliance.core.hours import COPENHAGEN
from appliance.core.ledger import ledger, ledger_json
from appliance.core.municipalities import site_municipalities
from appliance.drivers.municipalities import shipped_municipalities
from appliance.programs.configuration import load_config

if TYPE_CHECKING:  # the store (sqlite-utils) is loaded when an export runs, not before
    from appliance.drivers.store import Store

Row = dict[str, Any]
COLUMNS = {
    "queue": ["day", "queue", "offered", "answered", "abandoned", "short_abandoned",
              "answered_within_sl", "abandoned_within_sl", "sl_pct", "abandon_pct", "asa_s",
              "aht_s", "wait_answered_s", "talk_s", "wrap_s", "peak_waiting", "longest_wait_s"],
    "municipality": ["day", "municipality", "name", "offered", "answered", "abandoned",
                     "answered_within_sl", "staff_answered", "staff_hours"],
    "site": ["day", "site", "municipality", "agents", "answered", "talk_s", "wrap_s",
             "on_duty_s"],
}  # fmt: skip
LEDGER_COLUMNS = ["municipality", "name", "offered", "answered", "abandoned",
                  "answered_within_sl", "staff_answered", "staff_hours", "balance"]  # fmt: skip


def export_rows(
    store: Store, by: str, first: date, last: date, given_sites: dict[str, str] | None = None
) -> tuple[list[Row], dict[str, Any]]:
    """The daily rows `by` queue, municipality or site, and the period's ledger."""
    span = (first.isoformat(), last.isoformat())
    places, sites = store.daily_by_municipality(*span), store.daily_by_site(*span)
    shipped = shipped_municipalities()
    names = {m.code: m.name for m in shipped}
    site_map = site_municipalities(shipped, given_sites)
    book = ledger_json(ledger(places, sites, site_map, names))
    if by == "queue":
        return store.daily(*span), book
    if by == "site":
        rows = [
            {**row, "municipality": site_map.get(row["site"], UNKNOWN_MUNICIPALITY)}
            for row in sites
        ]
        return rows, book
    # Each day's ledger, its lines that saw calls or staff: the one sum for both.
    rows = []
    for day in sorted({row["day"] for row in [*places, *sites]}):
        daily = ledger(
            [row for row in places if row["day"] == day],
            [row for row in sites if row["day"] == day],
            site_map,
            names,
        )
        rows += [
            {"day": day, **asdict(line), "staff_hours": round(line.staff_hours, 2)}
            for line in sorted(daily.lines, key=lambda line: line.municipality)
            if line.offered or line.staff_answered or line.staff_hours
        ]
    return rows, book


def write_xlsx(path: Path, by: str, rows: list[Row], book: dict[str, Any], period: str) -> None:
    """A workbook: the daily rows, and the period's ledger on a sheet of its own."""
    from openpyxl import Workbook  # noqa: PLC0415 - only the xlsx export needs it
    from openpyxl.styles import Font  # noqa: PLC0415

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"Per {by}"
    sheet.append(COLUMNS[by])
    for row in rows:
        sheet.append([row.get(column) for column in COLUMNS[by]])
    ledger_sheet = workbook.create_sheet("Ledger")
    ledger_sheet.append([f"The give-and-take {period}"])
    ledger_sheet.append(LEDGER_COLUMNS)
    for line in [*book["lines"], {**book["total"], "name": "Total"}]:
        ledger_sheet.append([line.get(column) for column in LEDGER_COLUMNS])
    for table in (sheet, ledger_sheet):
        for cell in table[1 if table is sheet else 2]:
            cell.font = Font(bold=True)
        table.freeze_panes = "A2" if table is sheet else "A3"
    workbook.save(path)


def cmd_export(args: argparse.Namespace) -> int:
    given: dict[str, str] | None = None
    if args.database:
        database = Path(args.database)
    else:
        config = load_config(args.config)
        database, given = config.history.database, dict(config.history.site_municipalities)
    if not database.exists():
        raise HotlineError(f"no history database at {database}")
    last = args.to or datetime.now(COPENHAGEN).date()
    first = args.from_ or last - timedelta(days=29)
    if first > last:
        raise HotlineError(f"--from {first} is after --to {last}")
    from appliance.drivers.store import Store  # noqa: PLC0415

    store = Store(database)
    try:
        rows, book = export_rows(store, args.by, first, last, given)
    finally:
        store.close()
    if args.format == "xlsx":
        if not args.output:
            raise HotlineError("--format xlsx needs --output FILE.xlsx")
        write_xlsx(Path(args.output), args.by, rows, book, f"{first} – {last}")
        print(f"{len(rows)} rows and the ledger written to {args.output}")
        return 0
    out = io.StringIO()
    if args.format == "json":
        json.dump(rows, out, ensure_ascii=False, indent=1)  # the daily rows, as ever

        out.write("\n")
    else:
        writer = csv.DictWriter(out, fieldnames=COLUMNS[args.by], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    if args.output:
        Path(args.output).write_text(out.getvalue(), encoding="utf-8")
    else:
        sys.stdout.write(out.getvalue())
    return 0


def add_export_command(
    history_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    export = history_commands.add_parser(
        "export", help="daily statistics as CSV, JSON or xlsx, by queue, municipality or site"
    )
    export.add_argument("--from", dest="from_", type=date.fromisoformat, help="YYYY-MM-DD")
    export.add_argument("--to", type=date.fromisoformat, help="YYYY-MM-DD (default today)")
    export.add_argument("--format", choices=("csv", "json", "xlsx"), default="csv")
    export.add_argument("--by", choices=("queue", "municipality", "site"), default="queue")
    export.add_argument("--output", help="a file (xlsx needs one; csv and json: stdout)")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="the appliance's config (finds its database)")
    source.add_argument("--database", help="a history database file")
    export.set_defaults(handler=cmd_export)
