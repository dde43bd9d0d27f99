"""Rota files as supervisors have them: a spreadsheet's CSV or a calendar's iCalendar.

Every mistake is reported with its line, all of them at once, before anything is
published. A CSV is whatever a spreadsheet saved (comma, semicolon or tab; trailing empty
cells; a quoted name over two lines); an iCalendar file is one event per shift, as
Outlook, Google Calendar or a planning tool exports them (time zones by IANA or Windows
name, DTEND or DURATION, cancelled events and reminders left out).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from appliance.core.contract import (
    IDENTIFIER,
    MAX_NAME_CHARS,
    MAX_ROTA_BYTES,
    MAX_SHIFTS,
    VERSION,
    Rota,
    Shift,
    ShiftRole,
    Topics,
    encode,
)
from appliance.core.errors import HotlineError

ROLES: dict[str, ShiftRole] = {"phone": "phone", "telefon": "phone", "standby": "standby"}
LONGEST_SHIFT = timedelta(hours=16)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


class RotaFileError(HotlineError):
    """A rota file with mistakes; `problems` has each one with its line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))


@dataclass(frozen=True, slots=True)
class _Moment:
    at: datetime
    clock_only: bool  # given as "18:30": an end before the start is the next day's


def read_rota_file(
    text: str, source: str, zone: tzinfo, day: date | None = None
) -> dict[date, list[Shift]]:
    """The shifts in a CSV or iCalendar text, by the day they start on (only `day`'s if
    given; in a CSV without dates, times are on `day`)."""
    is_calendar = text.lstrip().upper().startswith("BEGIN:VCALENDAR")
    problems: list[str] = []
    found = (_read_ical if is_calendar else _read_csv)(text, zone, day, problems)
    kept: list[tuple[int, Shift]] = []
    for line, shift in found:
        if day is None or shift.start.astimezone(zone).date() == day:
            for other_line, other in kept:  # across days too: 22–02 and 01–05 overlap
                if (
                    other.agent == shift.agent
                    and other.start < shift.end
                    and shift.start < other.end
                ):
                    problems.append(
                        f"line {line}: {shift.agent} already has a shift"
                        f" {_span(other, zone)} (line {other_line})"
                    )
            kept.append((line, shift))
    days: dict[date, list[Shift]] = {}
    for _, shift in kept:
        days.setdefault(shift.start.astimezone(zone).date(), []).append(shift)
    for shift_day, shifts in days.items():
        if len(shifts) > MAX_SHIFTS:
            problems.append(f"{shift_day}: {len(shifts)} shifts, at most {MAX_SHIFTS} a day")
    if not problems and not days:
        problems.append(f"no shifts start on {day}" if found else "no shifts in the file")
    if problems:
        raise RotaFileError(source, problems)
    return days


@dataclass(frozen=True, slots=True)
class RotaDay:
    """One day's rota as published: its retained message, and what it holds."""

    day: date
    shifts: int
    standby: int
    topic: str
    payload: bytes


def rota_messages(
    raw: bytes, source: str, zone: tzinfo, topics: Topics, now: datetime, *, day: date | None = None
) -> list[RotaDay]:
    """A rota file's bytes as the retained messages to publish, day by day (`hotline rota
    publish`, /admin). Raises HotlineError with every mistake, or a day too big to send."""
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet's "CSV UTF-8" starts with a BOM
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")  # Danish Excel's plain "CSV (semikolonsepareret)"
        except UnicodeDecodeError:
            raise HotlineError(f"{source}: not a text file (save it as CSV)") from None
    days = []
    for when, shifts in sorted(read_rota_file(text, source, zone, day).items()):
        payload = encode(Rota(v=VERSION, date=when, ts=now, shifts=tuple(shifts)))
        if len(payload) > MAX_ROTA_BYTES:  # the boards would drop it: say so, send nothing
            raise HotlineError(
                f"{source}: the rota for {when} is {len(payload)} bytes, at most {MAX_ROTA_BYTES}"
            )
        standby = sum(shift.role == "standby" for shift in shifts)
        days.append(RotaDay(when, len(shifts), standby, topics.rota(when), payload))
    return days


def _span(shift: Shift, zone: tzinfo) -> str:
    return f"{shift.start.astimezone(zone):%H:%M}–{shift.end.astimezone(zone):%H:%M}"


def _make_shift(
    line: int,
    fields: dict[str, str],
    start: _Moment | None,
    end: _Moment | None,
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
    if start is None or end is None or role is None or len(problems) > before:
        return None
    ends = end.at
    if ends < start.at and end.clock_only:
        ends += timedelta(days=1)  # 22:00–01:00 ends the next day
    if ends <= start.at:
        said = "when" if ends == start.at else "before"
        problems.append(f"line {line}: the shift ends {said} it starts")
        return None
    if ends - start.at > LONGEST_SHIFT:
        hours = (ends - start.at).total_seconds() / 3600
        problems.append(f"line {line}: a shift of {hours:.0f} hours is too long (at most 16)")
        return None
    return Shift(agent=agent, start=start.at, end=ends, role=role, name=name, site=site)


def _when(
    text: str, what: str, line: int, *, zone: tzinfo, day: date | None, problems: list[str]
) -> _Moment | None:
    """`18:30` (or `18:30:00`, `24:00`) on `day`, or a date and time (local unless it
    says otherwise)."""
    text = text.strip()
    if not text:
        problems.append(f"line {line}: no {what}")
        return None
    clock = _CLOCK.fullmatch(text)
    try:
        if clock:
            if day is None:
                problems.append(
                    f"line {line}: {what} {text} has no date: give --date or a date column"
                )
                return None
            hour, minute, second = (int(part or 0) for part in clock.groups())
            if (hour, minute, second) == (24, 0, 0):  # the end of the day
                return _Moment(datetime.combine(day + timedelta(days=1), time(), zone), True)
            return _Moment(datetime.combine(day, time(hour, minute, second), zone), True)
        moment = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"line {line}: {what} {text!r} is not a time (18:30) or a date and time")
        return None
    return _Moment(moment if moment.tzinfo else moment.replace(tzinfo=zone), False)


# --- CSV -------------------------------------------------------------------------------


def _delimiter(text: str) -> str:
    """The header line's own separator: a Danish spreadsheet saves with semicolons."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {separator: header.count(separator) for separator in (",", ";", "\t")}
    return max(counts, key=lambda separator: counts[separator])  # a tie: the comma


def _read_csv(
    text: str, zone: tzinfo, day: date | None, problems: list[str]
) -> list[tuple[int, Shift]]:
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = [column.strip().lower() for column in next(rows, [])]
    while header and not header[-1]:
        header.pop()
    missing = [column for column in ("agent", "start", "end") if column not in header]
    if missing:
        problems.append(
            "line 1: the header needs the columns agent, start, end (and role);"
            f" missing {', '.join(missing)}"
        )
        return []
    shifts = []
    for row in rows:
        number = rows.line_num  # the physical line, even after a name over two lines
        cells = [cell.strip() for cell in row]
        while cells and not cells[-1]:
            cells.pop()  # a spreadsheet's empty trailing cells
        if not cells:
            continue
        if len(cells) > len(header):
            problems.append(f"line {number}: {len(cells)} columns, the header has {len(header)}")
            continue
        fields = dict(zip(header, cells + [""] * (len(header) - len(cells)), strict=True))
        row_day = day
        if fields.get("date"):
            try:
                row_day = date.fromisoformat(fields["date"])
            except ValueError:
                problems.append(f"line {number}: date {fields['date']!r} is not YYYY-MM-DD")
                continue
        start = _when(fields["start"], "start", number, zone=zone, day=row_day, problems=problems)
        end_day = row_day or (start.at.date() if start else None)
        end = _when(fields["end"], "end", number, zone=zone, day=end_day, problems=problems)
        shift = _make_shift(number, fields, start, end, problems)
        if shift is not None:
            shifts.append((number, shift))
    return shifts


# --- iCalendar (RFC 5545): the part an export of single shifts uses --------------------

# Outlook and Exchange name zones the Windows way (CLDR windowsZones).
_WINDOWS_ZONES = {
    "romance standard time": "Europe/Copenhagen",
    "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest",
    "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik",
    "utc": "UTC",
}
_ICAL_TIME = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?(Z?)")
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
_UNESCAPE = re.compile(r"\\([\\;,nN])")


@dataclass(frozen=True, slots=True)
class _Property:
    line: int
    value: str
    params: dict[str, str]


def _unfolded(text: str) -> list[tuple[int, str]]:
    """Logical lines with the number of their first physical line (folds joined)."""
    lines: list[tuple[int, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = (lines[-1][0], lines[-1][1] + raw[1:])
        elif raw.strip():
            lines.append((number, raw))
    return lines


def _content_line(line: str) -> tuple[str, dict[str, str], str]:
    """NAME;PARAM=V;PARAM="quoted: with colons":value → its name, parameters and value."""
    quoted, split = False, len(line)
    for index, character in enumerate(line):
        if character == '"':
            quoted = not quoted
        elif character == ":" and not quoted:
            split = index
            break
    name, *raw_params = line[:split].split(";")
    params = {}
    for raw in raw_params:
        key, _, value = raw.partition("=")
        params[key.strip().upper()] = value.strip().strip('"')
    return name.strip().upper(), params, line[split + 1 :]


def _zone_named(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    lowered = name.lower()
    if lowered in _WINDOWS_ZONES:
        return ZoneInfo(_WINDOWS_ZONES[lowered])
    if "copenhagen" in lowered:  # Outlook's "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris"
        return ZoneInfo("Europe/Copenhagen")
    raise ValueError(f"unknown time zone {name!r}: export with Europe/Copenhagen or UTC")


def _ical_time(found: _Property, zone: tzinfo) -> datetime:
    match = _ICAL_TIME.fullmatch(found.value.strip())
    if found.params.get("VALUE") == "DATE" or match is None:
        if re.fullmatch(r"\d{8}", found.value.strip()):
            raise ValueError("a whole day, not a shift with times")
        raise ValueError("not a date and time (20261129T183000)")
    year, month, day, hour, minute, second, utc = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0))
    if utc:
        return moment.replace(tzinfo=ZoneInfo("UTC"))
    if "TZID" in found.params:
        return moment.replace(tzinfo=_zone_named(found.params["TZID"]))
    return moment.replace(tzinfo=zone)


def _read_ical(
    text: str, zone: tzinfo, day: date | None, problems: list[str]
) -> list[tuple[int, Shift]]:
    del day  # every event has its own date
    shifts = []
    nesting: list[str] = []  # VCALENDAR > VEVENT > VALARM: only the event's own lines count
    event: dict[str, _Property] = {}
    for number, line in _unfolded(text):
        name, params, value = _content_line(line)
        if name == "BEGIN":
            nesting.append(value.strip().upper())
            if nesting[-1] == "VEVENT":
                event = {"BEGIN": _Property(number, value, params)}
        elif name == "END":
            if nesting and nesting[-1] == "VEVENT":
                shift = _ical_shift(event, zone, problems)
                if shift is not None:
                    shifts.append((event["BEGIN"].line, shift))
            if nesting:
                nesting.pop()
        elif nesting and nesting[-1] == "VEVENT":
            event.setdefault(name, _Property(number, value, params))
    return shifts


def _ical_shift(event: dict[str, _Property], zone: tzinfo, problems: list[str]) -> Shift | None:
    line = event["BEGIN"].line
    if event.get("STATUS", _Property(line, "", {})).value.strip().upper() == "CANCELLED":
        return None
    if "RRULE" in event:
        problems.append(f"line {event['RRULE'].line}: a repeating event: export the single shifts")
        return None
    start = _ical_moment(event, "DTSTART", zone, problems)
    end = _ical_moment(event, "DTEND", zone, problems) if "DTEND" in event else None
    if "DTEND" not in event and start is not None:
        end = _ical_duration(event, start, problems)
    summary = _text(event.get("SUMMARY", _Property(line, "", {})).value)
    agent, _, name = summary.partition(" ")
    fields = {
        "agent": event["X-HOTLINE-AGENT"].value if "X-HOTLINE-AGENT" in event else agent,
        "name": summary if "X-HOTLINE-AGENT" in event else name.strip(" -–"),
        "role": event.get("CATEGORIES", _Property(line, "phone", {})).value.split(",")[0],
        "site": event.get("LOCATION", _Property(line, "", {})).value,
    }
    return _make_shift(line, fields, start, end, problems)


def _text(value: str) -> str:
    """A TEXT value unescaped (RFC 5545 §3.3.11): \\, \\; and \\, as themselves, a
    newline as a space."""
    return _UNESCAPE.sub(lambda m: " " if m.group(1) in "nN" else m.group(1), value).strip()


def _ical_moment(
    event: dict[str, _Property], key: str, zone: tzinfo, problems: list[str]
) -> _Moment | None:
    found = event.get(key)
    if found is None:
        problems.append(f"line {event['BEGIN'].line}: the event has no {key}")
        return None
    try:
        return _Moment(_ical_time(found, zone), False)
    except ValueError as error:
        problems.append(f"line {found.line}: {key} {found.value!r}: {error}")
        return None


def _ical_duration(
    event: dict[str, _Property], start: _Moment, problems: list[str]
) -> _Moment | None:
    found = event.get("DURATION")
    match = _DURATION.fullmatch(found.value.strip()) if found else None
    if found is None or match is None or not any(match.groups()):
        where = found.line if found else event["BEGIN"].line
        problems.append(f"line {where}: the event has no DTEND (or DURATION like PT3H30M)")
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    length = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return _Moment(start.at + length, False)
