"""Every appliance of the hotline, from their retained status and health messages.

`fold` takes one `{p}/sites/{site}/appliances/{appliance}/status|health` message into the
fleet; `rows` says how each appliance is doing, the ones in trouble first. Pure: the wall
clock comes in as an argument, so one appliance's `/fleet`, `hotline fleet` in a
terminal and the tests all read the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

# An appliance publishes its health every mqtt.health_interval_s (60 s by default): one
# not heard from for this long is in trouble even if its status still says online.
HEALTH_SILENT_AFTER_S = 300.0

Kind = Literal["status", "health"]
Severity = Literal["offline", "fault", "warning", "ok"]
_ORDER: dict[Severity, int] = {"offline": 0, "fault": 1, "warning": 2, "ok": 3}


@dataclass(frozen=True, slots=True)
class Seen:
    """What is known of one appliance, as its messages said it."""

    site: str
    appliance: str
    online: bool | None = None  # None: no status message (yet)
    status_at: datetime | None = None  # when this appliance saw the status change
    health: dict[str, Any] = field(default_factory=dict)
    health_error: str = ""  # a health message that could not be read
    health_at: datetime | None = None  # when it arrived


Fleet = dict[tuple[str, str], Seen]


def fold(
    fleet: Fleet, site: str, appliance: str, kind: Kind, payload: bytes, *, now: datetime
) -> Fleet:
    """The fleet with one message taken in (a new dict; `fleet` is left as it was)."""
    key = (site, appliance)
    seen = fleet.get(key, Seen(site, appliance))
    if not payload:  # an empty retained message: the appliance was taken out of service
        return {k: v for k, v in fleet.items() if k != key}
    if kind == "status":
        online = payload.strip() == b"online"
        if online != seen.online:
            seen = replace(seen, online=online, status_at=now)
    else:
        try:
            health = msgspec.json.decode(payload)
            if not isinstance(health, dict):
                raise msgspec.ValidationError("not a JSON object")
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            seen = replace(seen, health_error=f"unreadable health message: {error}",
                           health_at=now)  # fmt: skip
        else:
            seen = replace(seen, health=health, health_error="", health_at=now)
    return fleet | {key: seen}


@dataclass(frozen=True, slots=True)
class Row:
    """One appliance as `/fleet` and `hotline fleet` show it."""

    site: str
    appliance: str
    severity: Severity
    online: bool | None
    since: str | None  # ISO time: online since it started, offline since it went
    version: str | None
    uptime_s: float | None
    feed: str | None
    broker: str | None
    errors: list[str]  # each output's error, and the appliance's own reasons
    rejected_messages: int | None
    last_message_age_s: float | None
    health_age_s: float | None  # how old its last health message is


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else None


MAX_UPTIME_S = 10 * 365 * 86400.0


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def row(seen: Seen, now: datetime) -> Row:
    health = seen.health
    stamped = _parse_time(health.get("ts"))
    uptime = _number(health.get("uptime_s"))
    if uptime is not None and not 0 <= uptime <= MAX_UPTIME_S:
        uptime = None
    # When it was heard from: its own stamp, but never later than it arrived here (a clock
    # ahead would never look silent).
    heard = seen.health_at
    if stamped is not None and (heard is None or stamped <= heard):
        heard = stamped
    health_age = None if heard is None else max(0.0, (now - heard).total_seconds())
    outputs = [
        f"{output.get('name')}: {output.get('message') or 'error'}"
        for output in _list(health.get("outputs"))
        if isinstance(output, dict) and output.get("status") == "error"
    ]
    reasons = [reason for reason in _list(health.get("reasons")) if isinstance(reason, str)]
    errors = list(dict.fromkeys(outputs + reasons))  # the reasons repeat the outputs' errors
    if seen.health_error:
        errors.append(seen.health_error)
    if seen.online is False:
        severity: Severity = "offline"
        # Last heard from (its health comes every minute), or when the status came here:
        # a retained `offline` found on connecting says nothing of when it went.
        since = heard or seen.status_at
    else:
        severity = "fault" if errors or health.get("healthy") is False else "ok"
        since = heard - timedelta(seconds=uptime) if heard and uptime is not None else None
        if health_age is None or health_age > HEALTH_SILENT_AFTER_S:
            severity = "fault"
            errors.append("no health message" if health_age is None else
                          f"no health message for {health_age / 60:.0f} min")  # fmt: skip
        elif severity == "ok" and health.get("broker_stand_in") is True:
            severity = "warning"
            errors.append(f"on the stand-in broker {health.get('broker')}")
    version = health.get("version")
    feed = health.get("feed")
    broker = health.get("broker")
    rejected = _number(health.get("rejected_messages"))
    return Row(
        site=seen.site,
        appliance=seen.appliance,
        severity=severity,
        online=seen.online,
        since=None if since is None else since.isoformat(timespec="seconds"),
        version=version if isinstance(version, str) else None,
        uptime_s=uptime,
        feed=feed if isinstance(feed, str) else None,
        broker=broker if isinstance(broker, str) else None,
        errors=errors,
        rejected_messages=None if rejected is None else int(rejected),
        last_message_age_s=_number(health.get("last_message_age_s")),
        health_age_s=None if health_age is None else round(health_age, 1),
    )


def _row_or_fault(seen: Seen, now: datetime) -> Row:
    """One appliance's row; a health message that cannot be made sense of is its fault,
    never the whole fleet's."""
    try:
        return row(seen, now)
    except (ValueError, OverflowError, TypeError) as error:
        return row(replace(seen, health={}, health_error=f"unreadable health message: {error}"),
                   now)  # fmt: skip


def rows(fleet: Fleet, now: datetime) -> list[Row]:
    """Every appliance, the ones in trouble first (offline, then faults, then warnings)."""
    made = [_row_or_fault(seen, now) for seen in fleet.values()]
    return sorted(made, key=lambda r: (_ORDER[r.severity], r.site, r.appliance))
