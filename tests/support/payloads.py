"""Contract payloads for tests, as JSON bytes, with the contract's own example as defaults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# The appliance counts days in the site's timezone (hours.timezone, Copenhagen by default), so
# "today" must be Copenhagen's date, which differs from UTC's between 22:00/23:00 and midnight.
SITE_ZONE = ZoneInfo("Europe/Copenhagen")


def iso(moment: datetime | None = None, **delta: float) -> str:
    moment = (moment or datetime.now(UTC)) + timedelta(**delta)
    return moment.isoformat(timespec="seconds")


def today(**counts: Any) -> dict[str, Any]:
    base = {
        "date": datetime.now(SITE_ZONE).date().isoformat(),
        "offered": 0,
        "answered": 0,
        "abandoned": 0,
        "short_abandoned": 0,
        "answered_within_sl": 0,
        "sl_threshold_s": 60,
        "wait_answered_s": 0,
        "talk_s": 0,
    }
    return base | counts


def queue(
    queue: str = "borger", waiting: int = 0, longest_wait_s: float = 0, **fields: Any
) -> bytes:
    payload = {
        "v": 1,
        "queue": queue,
        "name": f"Kø {queue}",
        "ts": iso(),
        "waiting": waiting,
        "longest_wait_s": longest_wait_s,
    } | fields
    return json.dumps(payload).encode()


def agent(
    agent: str = "a2101", state: str = "available", site: str = "favrskov", **fields: Any
) -> bytes:
    payload = {
        "v": 1,
        "agent": agent,
        "name": f"Agent {agent}",
        "site": site,
        "state": state,
        "ts": iso(),
        "queues": ["borger"],
    } | fields
    return json.dumps(payload).encode()


def ticker(text: str, level: str = "info", **fields: Any) -> bytes:
    return json.dumps({"v": 1, "text": text, "level": level} | fields).encode()
