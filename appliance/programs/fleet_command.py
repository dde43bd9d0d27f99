"""`hotline fleet`: every appliance of the hotline in a terminal, from the broker.

It reads the retained status and health of every appliance (the same rows as `/fleet`),
prints them with the ones in trouble first, and exits 1 if any is offline or at fault, 2
if none is found (for a monitoring script); `--watch` keeps the table live until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import datetime
from typing import TextIO

from appliance.core.contract import Topics
from appliance.core.fleet import Fleet, Row, fold, rows
from appliance.core.hours import COPENHAGEN
from appliance.programs.broker_client import connected, mqtt_for, one_shot_options

QUIET_S = 0.5  # retained messages come at once: this long without one, and all are in
WATCH_EVERY_S = 2.0
SEVERITY = {"offline": "OFFLINE", "fault": "FAULT", "warning": "warning", "ok": "ok"}


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


def _since(iso: str | None) -> str:
    if iso is None:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone(COPENHAGEN).strftime("%d/%m %H:%M")
    except (ValueError, OverflowError):
        return iso


def table(found: list[Row]) -> str:
    """The rows as a plain table: one appliance a line, its problems after it."""
    if not found:
        return "no appliance has reported on this broker (prefix?)"
    header = ("STATE", "SITE", "APPLIANCE", "SINCE", "VERSION", "UPTIME", "FEED", "LAST MSG",
              "REJECTED", "BROKER")  # fmt: skip
    lines = [header] + [
        (SEVERITY[r.severity], r.site, r.appliance, _since(r.since), r.version or "-",
         _age(r.uptime_s), r.feed or "-", _age(r.last_message_age_s),
         "-" if r.rejected_messages is None else str(r.rejected_messages), r.broker or "-")
        for r in found
    ]  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if index:
            out += [f"    - {error}" for error in found[index - 1].errors]
    return "\n".join(out).rstrip()


async def _read(args: argparse.Namespace, out: TextIO) -> int:
    mqtt = mqtt_for(args)
    topics = Topics(mqtt.prefix)
    fleet: Fleet = {}
    arrived = asyncio.Event()

    def on_message(topic: str, payload: bytes) -> None:
        nonlocal fleet
        where = topics.fleet_topic(topic)
        if where is not None:
            fleet = fold(fleet, *where, payload, now=datetime.now(COPENHAGEN))
            arrived.set()

    async with connected(mqtt, args.timeout, topics.fleet_subscriptions(), on_message):
        while True:  # until the retained messages stop coming
            arrived.clear()
            try:
                async with asyncio.timeout(QUIET_S):
                    await arrived.wait()
            except TimeoutError:
                break
        while True:
            found = rows(fleet, datetime.now(COPENHAGEN))
            if args.json:
                json.dump([asdict(r) for r in found], out, ensure_ascii=False, indent=1)
                out.write("\n")
            else:
                if args.watch and out.isatty():
                    out.write("\x1b[2J\x1b[H")
                out.write(table(found) + "\n")
            out.flush()
            if not args.watch:
                if not found:  # a wrong prefix or an ACL that hides them: not "all well"
                    return 2
                return 1 if any(r.severity in ("offline", "fault") for r in found) else 0
            await asyncio.sleep(WATCH_EVERY_S)


def _cmd_fleet(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_read(args, sys.stdout))
    except KeyboardInterrupt:
        return 0


def add_fleet_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fleet = commands.add_parser("fleet", help="every appliance of the hotline, trouble first")
    fleet.add_argument("--watch", action="store_true", help="keep the table live")
    fleet.add_argument("--json", action="store_true", help="the rows as JSON")
    one_shot_options(fleet)
    fleet.set_defaults(handler=_cmd_fleet)
