"""Opening hours: a pure answer to "open now?" and "when next?" for any instant.

Ranges are local wall-clock times in the hotline's time zone; they are turned into
absolute instants per date, so daylight-saving changes and ranges across midnight come
out right without special cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appliance.core.contract import HOTLINE_TIMEZONE

COPENHAGEN = ZoneInfo(HOTLINE_TIMEZONE)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RANGE = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
# How far ahead "next opening" looks: a year covers any sane schedule.
HORIZON_DAYS = 400

Minutes = tuple[int, int]  # (start, end) in minutes after local midnight; end may be 1440


def always_open_toml() -> str:
    """The `[hours]` of a hotline that never closes (the demo, tests, benchmarks)."""
    days = ", ".join(f'{day} = ["00:00-24:00"]' for day in WEEKDAYS)
    return f'[hours]\nholidays = ""\nweekly = {{{days}}}\n'


def parse_range(text: str) -> Minutes:
    """`"18:30-22:00"` → (1110, 1320). An end at or before the start ends the next day."""
    match = RANGE.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if end_h == 24 and end_m:
        raise ValueError(f"{text!r}: 24:00 is the latest end")
    start, end = start_h * 60 + start_m, end_h * 60 + end_m
    if start == end:
        raise ValueError(f"{text!r} is empty")
    return start, end


@dataclass(frozen=True, slots=True)
class Schedule:
    timezone: ZoneInfo
    weekly: tuple[tuple[Minutes, ...], ...]  # Monday first, as date.weekday()
    closed: frozenset[date] = frozenset()  # holidays and closed dates
    special: tuple[tuple[date, tuple[Minutes, ...]], ...] = ()  # open_dates, overriding all

    @classmethod
    def always_open(cls, timezone: str = HOTLINE_TIMEZONE) -> Schedule:
        return cls(ZoneInfo(timezone), ((((0, 1440),),) * 7))

    def ranges_on(self, day: date) -> tuple[Minutes, ...]:
        for special_day, ranges in self.special:
            if special_day == day:
                return ranges
        if day in self.closed:
            return ()
        return self.weekly[day.weekday()]

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's ranges as absolute (UTC) instants; a range may run into the next day."""
        intervals = []
        for start, end in self.ranges_on(day):
            end_day = day if end > start else day + timedelta(days=1)
            intervals.append((self._instant(day, start), self._instant(end_day, end)))
        return intervals

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes == 1440:
            day, minutes = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minutes // 60, minutes % 60), self.timezone)
        return local.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class HoursState:
    open: bool
    next_open: datetime | None  # when closed: the next opening (None: none within a year)
    next_change: datetime | None  # the next opening or closing


def hours_state(schedule: Schedule, instant: datetime) -> HoursState:
    """Open at `instant`? When does it next open, and when does that answer change?"""
    today = instant.astimezone(schedule.timezone).date()
    closes = [
        end
        for day in (today - timedelta(days=1), today)
        for start, end in schedule.intervals_on(day)
        if start <= instant < end
    ]
    if closes:
        return HoursState(True, None, max(closes))
    for offset in range(HORIZON_DAYS):
        starts = [
            s for s, _ in schedule.intervals_on(today + timedelta(days=offset)) if s > instant
        ]
        if starts:
            return HoursState(False, min(starts), min(starts))
    return HoursState(False, None, None)
