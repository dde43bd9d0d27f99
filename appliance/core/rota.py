"""The rota: read from a supervisor's file, and held against who is actually on duty.

A rota file is a CSV (agent, start, end, role; optionally date, name, site) or an
iCalendar file, as a planning tool or a calendar exports it. Every mistake is reported
with its line, all of them at once, before anything is published. Against the board, each
shift is on (logged in), expected (not yet, or within the grace after its start),
missing (after the grace), or done; anyone on duty outside every shift is unscheduled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.core.contract import IDENTIFIER, MAX_NAME_CHARS, MAX_SHIFTS, AgentState, Shift
from appliance.core.contract import ShiftRole as Role
from appliance.core.errors import HotlineError

ROLES: dict[str, Role] = {"phone": "phone", "telefon": "phone", "standby": "standby"}


class RotaFileError(HotlineError):
    """A rota file with mistakes; `problems` has each one with its line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))


# --- reading files --------------------------------------------------------------------


def read_rota_file(
    text: str, source: str, zone: tzinfo, day: date | None = None
) -> dict[date, list[Shift]]:
    """The shifts in a CSV or iCalendar text, by the day they start on (only `day`'s if
    given; in a CSV without dates, times are on `day`)."""
    reader = _read_ical if text.lstrip().upper().startswith("BEGIN:VCALENDAR") else _read_csv
    problems: list[str] = []
    found = reader(text, zone, day, problems)
    days: dict[date, list[tuple[int, Shift]]] = {}
    for line, shift in found:
        start_day = shift.start.astimezone(zone).date()
        if day is None or start_day == day:
            _check_overlap(days.get(start_day, []), line, shift, problems)
            days.setdefault(start_day, []).append((line, shift))
    for shift_day, located in days.items():
        if len(located) > MAX_SHIFTS:
            problems.append(f"{shift_day}: {len(located)} shifts, at most {MAX_SHIFTS} a day")
    if not found and not problems:
        problems.append("no shifts in the file" + (f" on {day}" if day else ""))
    elif found and not days and not problems:
        problems.append(f"no shifts start on {day}")
    if problems:
        raise RotaFileError(source, problems)
    return {shift_day: [shift for _, shift in located] for shift_day, located in days.items()}


def _check_overlap(
    earlier: list[tuple[int, Shift]], line: int, new: Shift, problems: list[str]
) -> None:
    for other_line, other in earlier:
        if other.agent == new.agent and other.start < new.end and new.start < other.end:
            problems.append(
                f"line {line}: {new.agent} already has a shift {_span(other)} (line {other_line})"
            )


def _span(shift: Shift) -> str:
    return f"{shift.start:%H:%M}–{shift.end:%H:%M}"


def _make_shift(
    line: int,
    fields: dict[str, str],
    start: datetime | None,
    end: datetime | None,
    problems: list[str],
) -> Shift | None:
    before = len(problems)
    agent = fields.get("agent", "").strip()
    if not IDENTIFIER.fullmatch(agent):
        problems.append(f"line {line}: agent {agent!r} is not an agent id (like a2101)")
    role_text = fields.get("role", "").strip().lower() or "phone"
    role = ROLES.get(role_text)
    if role is None:
        problems.append(f"line {line}: role {role_text!r} is not phone or standby")
    site = fields.get("site", "").strip() or None
    if site is not None and not IDENTIFIER.fullmatch(site):
        problems.append(f"line {line}: site {site!r} is not a site id (like favrskov)")
    name = " ".join(fields.get("name", "").split())[:MAX_NAME_CHARS] or None
    if start is not None and end is not None and end <= start:
        end += timedelta(days=1)  # 22:00–01:00 ends the next day
        if end - start > timedelta(hours=16):
            problems.append(f"line {line}: the shift {_clock(start)}–{_clock(end)} is too long")
    if len(problems) > before or start is None or end is None or role is None:
        return None
    return Shift(agent=agent, start=start, end=end, role=role, name=name, site=site)


def _clock(moment: datetime) -> str:
    return f"{moment:%H:%M}"


def _when(
    text: str, what: str, line: int, *, zone: tzinfo, day: date | None, problems: list[str]
) -> datetime | None:
    """`18:30` on `day`, or a date and time (local unless it says otherwise)."""
    text = text.strip()
    try:
        if len(text) <= 5 and ":" in text:
            if day is None:
                problems.append(
                    f"line {line}: {what} {text} has no date: give --date or a date column"
                )
                return None
            return datetime.combine(day, time.fromisoformat(text.zfill(5)), zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"line {line}: {what} {text!r} is not a time (18:30) or a date and time")
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _read_csv(
    text: str, zone: tzinfo, day: date | None, problems: list[str]
) -> list[tuple[int, Shift]]:
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    header = [column.strip().lower() for column in next(rows, [])]
    missing = [column for column in ("agent", "start", "end") if column not in header]
    if missing:
        problems.append(
            "line 1: the header needs the columns agent, start, end (and role);"
            f" missing {', '.join(missing)}"
        )
        return []
    shifts = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(f"line {number}: {len(row)} columns, the header has {len(header)}")
            continue
        fields = dict(zip(header, row, strict=True))
        row_day = day
        if fields.get("date", "").strip():
            try:
                row_day = date.fromisoformat(fields["date"].strip())
            except ValueError:
                problems.append(f"line {number}: date {fields['date']!r} is not YYYY-MM-DD")
                continue
        start = _when(fields["start"], "start", number, zone=zone, day=row_day, problems=problems)
        end_day = row_day or (start.date() if start else None)
        end = _when(fields["end"], "end", number, zone=zone, day=end_day, problems=problems)
        shift = _make_shift(number, fields, start, end, problems)
        if shift is not None:
            shifts.append((number, shift))
    return shifts


# --- iCalendar (RFC 5545), the part a calendar's export of single shifts uses ------------


def _unfolded(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of their first physical line (folds joined)."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _ical_time(value: str, params: dict[str, str], zone: tzinfo) -> datetime:
    if params.get("VALUE") == "DATE" or "T" not in value:
        raise ValueError("a whole day, not a shift with times")
    moment = datetime.strptime(value.rstrip("Z"), "%Y%m%dT%H%M%S")
    if value.endswith("Z"):
        return moment.replace(tzinfo=ZoneInfo("UTC"))
    if "TZID" in params:
        try:
            return moment.replace(tzinfo=ZoneInfo(params["TZID"].strip('"')))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {params['TZID']!r}") from None
    return moment.replace(tzinfo=zone)


def _read_ical(
    text: str, zone: tzinfo, day: date | None, problems: list[str]
) -> list[tuple[int, Shift]]:
    del day  # every event has its own date
    shifts = []
    event: dict[str, tuple[int, str, dict[str, str]]] | None = None
    for number, line in _unfolded(text):
        name_part, _, value = line.partition(":")
        name, *raw_params = name_part.split(";")
        name = name.upper()
        params = dict(p.split("=", 1) for p in raw_params if "=" in p)
        params = {key.upper(): val for key, val in params.items()}
        if name == "BEGIN" and value.upper() == "VEVENT":
            event = {"BEGIN": (number, value, params)}
        elif name == "END" and value.upper() == "VEVENT" and event is not None:
            shift = _ical_shift(event, zone, problems)
            if shift is not None:
                shifts.append((event["BEGIN"][0], shift))
            event = None
        elif event is not None:
            event.setdefault(name, (number, value, params))
    return shifts


def _ical_shift(
    event: dict[str, tuple[int, str, dict[str, str]]], zone: tzinfo, problems: list[str]
) -> Shift | None:
    line = event["BEGIN"][0]
    if "RRULE" in event:
        problems.append(f"line {event['RRULE'][0]}: a repeating event: export the single shifts")
        return None
    times: dict[str, datetime | None] = {}
    for key in ("DTSTART", "DTEND"):
        if key not in event:
            problems.append(f"line {line}: the event has no {key}")
            times[key] = None
            continue
        number, value, params = event[key]
        try:
            times[key] = _ical_time(value, params, zone)
        except ValueError as error:
            problems.append(f"line {number}: {key} {value!r}: {error}")
            times[key] = None
    summary = event.get("SUMMARY", (line, "", {}))[1].replace("\\,", ",").strip()
    agent, _, name = summary.partition(" ")
    fields = {
        "agent": event["X-HOTLINE-AGENT"][1] if "X-HOTLINE-AGENT" in event else agent,
        "name": name.strip(" -–") if "X-HOTLINE-AGENT" not in event else summary,
        "role": event.get("CATEGORIES", (line, "phone", {}))[1].split(",")[0],
        "site": event.get("LOCATION", (line, "", {}))[1],
    }
    return _make_shift(line, fields, times["DTSTART"], times["DTEND"], problems)


# --- the rota against the board --------------------------------------------------------

RotaStatus = Literal["on", "expected", "missing", "done", "standby"]


@dataclass(frozen=True, slots=True)
class RotaLine:
    shift: Shift
    status: RotaStatus
    logged_in: bool


def covers(shift: Shift, now: datetime, grace: timedelta) -> bool:
    """The shift is on now, give or take the grace at either end."""
    return shift.start - grace <= now < shift.end + grace


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
        elif here and now >= shift.start - grace:
            status = "on"
        elif now >= shift.start + grace and not here:
            status = "missing"
        else:
            status = "expected"
        lines.append(RotaLine(shift, status, here))
    return lines


def unscheduled(
    shifts: Iterable[Shift], on_duty: Iterable[AgentState], now: datetime, grace: timedelta
) -> set[str]:
    """Agents on duty whom no shift (phone or standby) covers now."""
    covered = {shift.agent for shift in shifts if covers(shift, now, grace)}
    return {s.agent for s in on_duty if s.state != "logged_out" and s.agent not in covered}


def standby_now(shifts: Iterable[Shift], agent: str, now: datetime) -> bool:
    """`agent` is on standby in a shift that is on now (never outside it)."""
    return any(
        shift.agent == agent and shift.role == "standby" and shift.start <= now < shift.end
        for shift in shifts
    )
