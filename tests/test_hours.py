"""Opening hours across daylight saving, midnight, holidays and extra dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from appliance.core.config import build_schedule
from appliance.core.errors import ConfigError
from appliance.core.holidays import danish_holidays
from appliance.core.hours import Schedule, hours_state, parse_range
from appliance.programs.configuration import parse_config

CPH = ZoneInfo("Europe/Copenhagen")


def schedule(hours: str = "") -> Schedule:
    config = parse_config(f'[site]\nid = "x"\n[hours]\n{hours}')
    return build_schedule(config.hours, range(2025, 2029))


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CPH)  # type: ignore[misc]


def test_the_original_service_sunday_to_thursday_evenings() -> None:
    original = schedule()
    sunday = local(2026, 11, 29, 18, 29)
    assert not hours_state(original, sunday).open
    assert hours_state(original, sunday).next_open == local(2026, 11, 29, 18, 30)
    assert hours_state(original, local(2026, 11, 29, 18, 30)).open
    assert hours_state(original, local(2026, 11, 29, 21, 59)).next_change == local(
        2026, 11, 29, 22, 0
    )
    # Friday evening: closed, and it next opens on Sunday.
    friday = hours_state(original, local(2026, 11, 27, 19, 0))
    assert not friday.open
    assert friday.next_open == local(2026, 11, 29, 18, 30)


@pytest.mark.parametrize(
    ("instant", "is_open"),
    [
        # Spring forward (29 March 2026, 02:00 → 03:00): a Sunday, open 18:30 CEST.
        (local(2026, 3, 29, 18, 29), False),
        (datetime(2026, 3, 29, 16, 30, tzinfo=UTC), True),  # 18:30 CEST
        (datetime(2026, 3, 29, 16, 29, tzinfo=UTC), False),
        # Fall back (25 October 2026, 03:00 → 02:00): a Sunday, open 18:30 CET.
        (datetime(2026, 10, 25, 17, 30, tzinfo=UTC), True),  # 18:30 CET
        (datetime(2026, 10, 25, 17, 29, tzinfo=UTC), False),
        (datetime(2026, 10, 25, 20, 59, tzinfo=UTC), True),  # 21:59 CET
        (datetime(2026, 10, 25, 21, 0, tzinfo=UTC), False),
    ],
)
def test_daylight_saving_days_open_by_the_local_clock(instant: datetime, is_open: bool) -> None:
    assert hours_state(schedule(), instant).open is is_open


def test_a_night_range_around_the_dst_change_lasts_an_hour_more_or_less() -> None:
    night = schedule('[hours.weekly]\nsat = ["22:00-06:00"]\n')
    # 24-25 October 2026: the night has 9 hours, not 8.
    state = hours_state(night, local(2026, 10, 24, 23, 0))
    assert state.open
    assert state.next_change is not None
    assert (state.next_change - local(2026, 10, 24, 22, 0)).total_seconds() == 9 * 3600


def test_ranges_across_midnight_and_up_to_24() -> None:
    late = schedule('[hours.weekly]\nfri = ["20:00-02:00"]\nsat = ["10:00-24:00"]\n')
    assert hours_state(late, local(2026, 11, 28, 1, 30)).open  # Friday night, Saturday 01:30
    assert not hours_state(late, local(2026, 11, 28, 2, 0)).open
    assert hours_state(late, local(2026, 11, 28, 23, 59)).open
    assert not hours_state(late, local(2026, 11, 29, 0, 0)).open


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 12, 25),
        date(2027, 3, 28),
        date(2026, 4, 5),
        date(2026, 5, 25),
        date(2027, 5, 17),
        date(2026, 5, 14),
        date(2027, 1, 1),
    ],
)
def test_danish_public_holidays_are_closed(holiday: date) -> None:
    every_day = "".join(
        f'{d} = ["09:00-21:00"]\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    week = schedule(f"[hours.weekly]\n{every_day}")
    noon = datetime.combine(holiday, datetime.min.time(), CPH).replace(hour=12)
    assert not hours_state(week, noon).open
    no_holidays = schedule(f'holidays = ""\n[hours.weekly]\n{every_day}')
    assert hours_state(no_holidays, noon).open


def test_closed_dates_and_open_dates_override_the_week() -> None:
    special = schedule(
        'closed_dates = [2026-11-30]\nopen_dates = {"2026-12-25" = ["10:00-12:00"], '
        '"2026-11-28" = ["12:00-13:00"]}\n'
    )
    assert not hours_state(special, local(2026, 11, 30, 19, 0)).open  # a Monday, closed
    assert hours_state(special, local(2026, 12, 25, 11, 0)).open  # Christmas Day, opened
    assert hours_state(special, local(2026, 11, 28, 12, 30)).open  # a Saturday, opened
    assert hours_state(special, local(2026, 11, 28, 11, 0)).next_open == local(2026, 11, 28, 12, 0)


def test_never_open_has_no_next_opening() -> None:
    never = schedule("[hours.weekly]\n")
    assert hours_state(never, local(2026, 11, 28, 12, 0)).next_open is None


def test_bad_hours_are_named_by_key() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(
            '[site]\nid = "x"\n[hours]\ntimezone = "Europe/Aarhus"\nholidays = "XX"\n'
            '[hours.weekly]\nmon = ["9-21"]\nsun = ["18:30-18:30"]\n'
        )
    keys = {problem.split(":")[0] for problem in caught.value.problems}
    assert keys == {"hours.timezone", "hours.holidays", "hours.weekly.mon", "hours.weekly.sun"}
    assert parse_range("18:30-24:00") == (1110, 1440)


def test_the_built_in_danish_calendar_is_the_holidays_librarys() -> None:
    import holidays  # noqa: PLC0415 - the reference, loaded only here

    for year in range(2012, 2041):
        reference = holidays.country_holidays("DK", years=year)
        assert set(danish_holidays(year)) == set(reference), year
