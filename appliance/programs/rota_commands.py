"""`hotline rota publish FILE [--date]` and `hotline rota show [--date]`: the supervisors'
rota, checked whole before anything is published, as retained `{p}/rota/{date}`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import date, datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from appliance.core.contract import (
    RotaUpdate,
    Topics,
    decode,
)
from appliance.core.errors import HotlineError
from appliance.core.hours import COPENHAGEN
from appliance.core.rota_files import rota_messages
from appliance.programs.broker_client import mqtt_for, one_shot_options, publish_once, read_retained
from appliance.programs.configuration import load_config


def _zone(args: argparse.Namespace) -> tzinfo:
    """The hotline's time zone: the config's `[hours] timezone`, else Copenhagen."""
    return ZoneInfo(load_config(args.config).hours.timezone) if args.config else COPENHAGEN


def _cmd_publish(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise HotlineError(f"{path}: {error.strerror}") from None
    mqtt = mqtt_for(args)
    zone = _zone(args)
    now = datetime.now(zone).replace(microsecond=0)
    # Raises with every mistake in the file, or a day too big for the boards: sends nothing.
    days = rota_messages(raw, str(path), zone, Topics(mqtt.prefix), now, day=args.date)
    asyncio.run(publish_once(mqtt, [(d.topic, d.payload) for d in days], args.timeout))
    for day in days:  # one connection for every day, above
        print(f"{day.day}: {day.shifts} shifts published ({day.standby} standby)")
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    mqtt = mqtt_for(args)
    topics = Topics(mqtt.prefix)
    zone = _zone(args)
    day = args.date or datetime.now(zone).date()
    payload = asyncio.run(read_retained(mqtt, topics.rota(day), args.timeout))
    if not payload:
        print(f"no rota for {day}")
        return 1
    update = decode(topics, topics.rota(day), payload)
    if not isinstance(update, RotaUpdate) or update.rota is None:
        raise HotlineError(f"the rota for {day} on the broker is not valid: {update}")
    print(f"rota for {day} (published {update.rota.ts:%Y-%m-%d %H:%M})")
    for shift in sorted(update.rota.shifts, key=lambda s: (s.start, s.role, s.agent)):
        start, end = shift.start.astimezone(zone), shift.end.astimezone(zone)
        print(
            f"  {start:%H:%M}-{end:%H:%M}  {shift.role:<8} {shift.agent:<10} "
            f"{shift.name or '':<28} {shift.site or ''}".rstrip()
        )
    return 0


def add_rota_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rota = commands.add_parser("rota", help="the day's rota, for the boards and the desks")
    rota_commands = rota.add_subparsers(dest="rota_command", required=True)
    publish = rota_commands.add_parser("publish", help="check a CSV or iCalendar rota, publish it")
    publish.add_argument("file", help="CSV (agent,start,end,role[,date,name,site]) or .ics")
    publish.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD: only this day")
    one_shot_options(publish)
    publish.set_defaults(handler=_cmd_publish)
    show = rota_commands.add_parser("show", help="the rota on the broker")
    show.add_argument("--date", type=date.fromisoformat, help="YYYY-MM-DD (default today)")
    one_shot_options(show)
    show.set_defaults(handler=_cmd_show)
