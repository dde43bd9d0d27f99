"""Staffing, purely: Erlang C against published tables, rota files and their mistakes,
shifts against who is on duty at the edges of a shift, the arrival rate, the forecast."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest

from appliance.core.board import BoardRules
from appliance.core.clock import FakeClock
from appliance.core.contract import AgentState, Rota, Shift, Topics, decode
from appliance.core.rota import current_shifts, rota_lines, standby_now, unscheduled
from appliance.core.rota_files import RotaFileError, read_rota_file
from appliance.core.staffing import (
    agents_needed,
    arrival_rate,
    closing_forecast,
    erlang_c,
    keep_samples,
    service_level,
)
from appliance.features.hub import BoardHub

CPH = ZoneInfo("Europe/Copenhagen")
DAY = date(2026, 11, 29)


# --- Erlang C ---------------------------------------------------------------------------


def test_erlang_c_by_hand() -> None:
    # 2 Erlangs on 3 agents: B = (8/6) / (1 + 2 + 2 + 8/6) = 4/19; C = 3B / (3 - 2(1 - B)) = 4/9.
    assert erlang_c(3, 2.0) == pytest.approx(4 / 9, abs=1e-12)
    # One agent: M/M/1 waits with probability ρ.
    assert erlang_c(1, 0.7) == pytest.approx(0.7)
    assert erlang_c(5, 5.0) == 1.0  # no fewer agents than Erlangs: everyone waits


# The worked example of 100 calls in half an hour at 180 s handling (10 Erlangs), 80 % in
# 20 s, as the CRAN package ErlangC publishes it (README.md and
# tests/testthat/test-calculate_agents.R, cran/ErlangC; the same 14 agents, 0.1741319 and
# 0.88835 in pyworkforce's documentation): agents, probability of waiting, service level.
PUBLISHED = [
    (11, 0.6821182, 0.3896138),
    (12, 0.4493882, 0.6401580),
    (13, 0.2852705, 0.7955948),
    (14, 0.1741319, 0.8883500),
]


@pytest.mark.parametrize(("agents", "waits", "within"), PUBLISHED)
def test_erlang_c_against_the_published_example(agents: int, waits: float, within: float) -> None:
    assert erlang_c(agents, 10.0) == pytest.approx(waits, abs=5e-7)
    assert service_level(agents, 10.0, 180, 20) == pytest.approx(within, abs=5e-7)


def test_agents_needed_as_published() -> None:
    assert agents_needed(100 / 1800, 180, 0.80, 20) == 14  # ErlangC's and pyworkforce's 14
    # 200 calls an hour at 180 s, 80 % within 60 s: 13 (PRODYNA/exciting-algorithms,
    # tests/numberofagentsforsl_test.go).
    assert agents_needed(200 / 3600, 180, 0.80, 60) == 13
    assert agents_needed(100 / 1800, 180, 0.90, 20) == 15  # 14 gives 88.8 %
    assert agents_needed(0.0, 180, 0.8, 20) == 0  # nobody calls: nobody needed
    assert agents_needed(1000.0, 3600, 0.8, 20) is None  # beyond any hotline: says so


# --- the arrival rate and the forecast ------------------------------------------------


def test_the_arrival_rate_from_the_last_half_hour() -> None:
    samples: tuple[tuple[float, int], ...] = ()
    for second in range(0, 3601, 5):  # a call every 10 s for an hour
        samples = keep_samples(samples, float(second), second // 10)
    assert len(samples) <= 95  # one every 20 s, not one per message
    assert samples[-1] == (3600.0, 360)
    assert samples[0][0] <= 3600 - 1800 < samples[1][0]  # the window, spanned
    assert arrival_rate(samples) == pytest.approx(0.1, rel=0.02)
    # Under five minutes of data is too unsure to show; a new day starts over.
    assert arrival_rate(keep_samples((), 0.0, 5)) is None
    assert keep_samples(samples, 3700.0, 0) == ((3700.0, 0),)


def test_the_closing_forecast() -> None:
    # 6 waiting, a call a minute, 2 agents at 4 min each (half a call a minute): 20 min
    # to close → 6 + (1 - 0.5) × 20 = 16 waiting, answered in 16 / 0.5 = 32 min.
    forecast = closing_forecast(6, 1 / 60, 2, 240, 1200)
    assert forecast is not None
    assert forecast.waiting_at_close == 16
    assert forecast.clear_after_close_s == pytest.approx(32 * 60)
    # Enough agents: the queue is empty by then.
    drained = closing_forecast(2, 1 / 600, 5, 120, 1200)
    assert drained is not None
    assert (drained.waiting_at_close, drained.clear_after_close_s) == (0, 0)
    assert closing_forecast(3, 0.01, 0, 200, 600) is None  # nobody answering: no end to say


# --- rota files ------------------------------------------------------------------------

CSV = """agent,start,end,role,name,site
a2101,18:30,22:00,phone,Mette Jensen,favrskov
a3102,18:30,22:00,standby,Ole Knudsen,silkeborg
a4100,21:00,01:00,phone,,
"""


def test_a_csv_rota_on_a_given_day() -> None:
    [(day, shifts)] = read_rota_file(CSV, "rota.csv", CPH, DAY).items()
    assert day == DAY
    first, standby, late = shifts
    assert first == Shift(
        agent="a2101",
        start=datetime(2026, 11, 29, 18, 30, tzinfo=CPH),
        end=datetime(2026, 11, 29, 22, 0, tzinfo=CPH),
        role="phone",
        name="Mette Jensen",
        site="favrskov",
    )
    assert standby.role == "standby"
    assert late.end == datetime(2026, 11, 30, 1, 0, tzinfo=CPH)  # past midnight
    assert late.name is None


def test_a_danish_spreadsheet_export_with_semicolons_and_dates() -> None:
    text = "agent;date;start;end;role\na2101;2026-11-29;18:30;22:00;telefon\n"
    text += "a2101;2026-11-30;09:00;13:00;standby\n"
    days = read_rota_file(text, "rota.csv", CPH)
    assert sorted(days) == [DAY, DAY + timedelta(days=1)]
    assert days[DAY][0].role == "phone"


def test_every_mistake_in_a_rota_file_with_its_line() -> None:
    text = (
        "agent,start,end,role\n"
        "Mette Jensen,18:30,22:00,phone\n"  # 2: a name, not an id
        "a2101,18.30,22:00,phone\n"  # 3: not a time
        "a2102,18:30,22:00,telephone\n"  # 4: not a role
        "a2103,18:30\n"  # 5: no end
        "a2104,18:30,22:00,phone\n"
        "a2104,21:00,23:00,standby\n"  # 7: overlaps line 6
        "a2105,10:00,09:00,phone\n"  # 8: 23 hours
    )
    with pytest.raises(RotaFileError) as raised:
        read_rota_file(text, "rota.csv", CPH, DAY)
    assert raised.value.problems == [
        "line 2: agent 'Mette Jensen' is not an agent id (like a2101)",
        "line 3: start '18.30' is not a time (18:30) or a date and time",
        "line 4: role 'telephone' is not phone or standby",
        "line 5: no end",
        "line 8: a shift of 23 hours is too long (at most 16)",
        "line 7: a2104 already has a shift 18:30–22:00 (line 6)",
    ]
    assert "rota.csv: 6 problem(s)" in str(raised.value)


def test_a_rota_without_dates_needs_one() -> None:
    with pytest.raises(RotaFileError) as raised:
        read_rota_file(CSV, "rota.csv", CPH)
    assert raised.value.problems[0] == (
        "line 2: start 18:30 has no date: give --date or a date column"
    )
    with pytest.raises(RotaFileError, match="missing end"):
        read_rota_file("agent,start\na1,18:30\n", "rota.csv", CPH, DAY)


ICAL = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Planner//DA\r
BEGIN:VEVENT\r
UID:1@planner\r
DTSTART;TZID=Europe/Copenhagen:20261129T183000\r
DTEND;TZID=Europe/Copenhagen:20261129T220000\r
SUMMARY:a2101 Mette\r
  Jensen\r
LOCATION:favrskov\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@planner\r
DTSTART:20261129T173000Z\r
DTEND:20261129T210000Z\r
SUMMARY:a3102 – Ole Knudsen\r
CATEGORIES:standby\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_an_icalendar_rota() -> None:
    [(day, [phone, standby])] = read_rota_file(ICAL, "rota.ics", CPH).items()
    assert day == DAY
    assert phone.agent == "a2101"
    assert phone.name == "Mette Jensen"  # the folded line joined
    assert phone.site == "favrskov"
    assert phone.start == datetime(2026, 11, 29, 18, 30, tzinfo=CPH)
    assert standby.role == "standby"
    assert standby.name == "Ole Knudsen"
    assert standby.start == datetime(2026, 11, 29, 18, 30, tzinfo=CPH)  # 17:30 UTC


def test_mistakes_in_an_icalendar_rota() -> None:
    text = ICAL.replace("CATEGORIES:standby", "CATEGORIES:standby\r\nRRULE:FREQ=WEEKLY").replace(
        "DTEND;TZID=Europe/Copenhagen:20261129T220000", "DTEND;VALUE=DATE:20261130"
    )
    with pytest.raises(RotaFileError) as raised:
        read_rota_file(text, "rota.ics", CPH)
    assert raised.value.problems == [
        "line 7: DTEND '20261130': a whole day, not a shift with times",
        "line 18: a repeating event: export the single shifts",
    ]


# --- shifts against who is on duty -------------------------------------------------------

START = datetime(2026, 11, 29, 18, 30, tzinfo=CPH)
END = datetime(2026, 11, 29, 22, 0, tzinfo=CPH)
GRACE = timedelta(minutes=10)
PHONE = Shift(agent="a1", start=START, end=END, role="phone")
STANDBY = Shift(agent="a2", start=START, end=END, role="standby")


def on_duty(*agents: str) -> list[AgentState]:
    return [AgentState(v=1, agent=a, site="favrskov", state="available", ts=START) for a in agents]


@pytest.mark.parametrize(
    ("minutes", "logged_in", "status", "off_rota"),
    [
        (-11, True, "on", set()),  # early is on: they came for this shift
        (-10, True, "on", set()),  # from the grace before the start
        (0, False, "expected", set()),
        (9, False, "expected", set()),  # still within the grace
        (10, False, "missing", set()),  # the grace is over
        (209, True, "on", set()),  # a minute before the end
        (210, True, "done", set()),  # at the end: the shift is over ...
        (219, True, "done", set()),  # ... and staying on is within the grace ...
        (220, True, "done", {"a1"}),  # ... until it is not
    ],
)
def test_a_phone_shift_at_its_edges(
    minutes: int, logged_in: bool, status: str, off_rota: set[str]
) -> None:
    now = START + timedelta(minutes=minutes)
    agents = on_duty("a1") if logged_in else []
    [line] = rota_lines([PHONE], agents, now, GRACE)
    assert line.status == status
    assert line.logged_in is logged_in
    assert unscheduled([PHONE], agents, now, GRACE) == off_rota


def test_standby_is_called_only_within_the_shift() -> None:
    assert not standby_now([STANDBY], "a2", START - timedelta(seconds=1))
    assert standby_now([STANDBY], "a2", START)
    assert standby_now([STANDBY], "a2", END - timedelta(seconds=1))
    assert not standby_now([STANDBY], "a2", END)
    assert not standby_now([PHONE], "a1", START)  # a phone shift is not a standby
    assert [line.status for line in rota_lines([STANDBY], [], START, GRACE)] == ["standby"]


def test_the_rota_topic_is_decoded_strictly() -> None:
    topics = Topics()
    good = (
        b'{"v":1,"date":"2026-11-29","ts":"2026-11-28T15:00:00+01:00","shifts":[{"agent":"a1",'
        b'"start":"2026-11-29T18:30:00+01:00","end":"2026-11-29T22:00:00+01:00","role":"standby",'
        b'"name":"Ole\\u0000 Knudsen"}]}'
    )
    update = decode(topics, topics.rota(DAY), good)
    assert getattr(update, "day", None) == DAY
    assert update.rota.shifts[0].name == "Ole Knudsen"  # type: ignore[union-attr]
    wrong_day = decode(topics, topics.rota("2026-11-30"), good)
    assert getattr(wrong_day, "reason", None) == "identifier"
    backwards = good.replace(b"22:00:00", b"17:00:00")
    assert getattr(decode(topics, topics.rota(DAY), backwards), "reason", None) == "malformed"
    removed = decode(topics, topics.rota(DAY), b"")
    assert getattr(removed, "rota", "kept") is None


def test_what_spreadsheets_really_save() -> None:
    # Semicolons with Excel's empty trailing cells, Windows line endings, an empty line,
    # a name over two lines in quotes (the line numbers stay the file's own), 24:00.
    text = (
        "agent;start;end;role;name;;\r\n"
        'a2101;18:30:00;24:00;phone;"Mette\r\nJensen";;\r\n'
        "\r\n"
        "a2102;18:30;18:30;phone;;;\r\n"
    )
    with pytest.raises(RotaFileError) as raised:
        read_rota_file(text, "rota.csv", CPH, DAY)
    assert raised.value.problems == ["line 5: the shift ends when it starts"]
    [shift] = read_rota_file(text.rsplit("a2102", 1)[0], "rota.csv", CPH, DAY)[DAY]
    assert shift.name == "Mette Jensen"
    assert shift.end == datetime(2026, 11, 30, 0, 0, tzinfo=CPH)


def test_overlaps_across_midnight_are_found() -> None:
    text = "agent,date,start,end\na1,2026-11-29,22:00,02:00\na1,2026-11-30,01:00,05:00\n"
    with pytest.raises(
        RotaFileError, match=r"line 3: a1 already has a shift 22:00–02:00 \(line 2\)"
    ):
        read_rota_file(text, "rota.csv", CPH)


OUTLOOK = """BEGIN:VCALENDAR\r
BEGIN:VEVENT\r
BEGIN:VALARM\r
SUMMARY:remind\r
TRIGGER:-PT15M\r
END:VALARM\r
DTSTART;TZID=Romance Standard Time:20261129T1830\r
DURATION:PT3H30M\r
SUMMARY:a2101 Mette Jensen\\, Favrskov\r
END:VEVENT\r
BEGIN:VEVENT\r
DTSTART;TZID="(UTC+01:00) Brussels, Copenhagen, Madrid, Paris":20261129T183000\r
DTEND;TZID="(UTC+01:00) Brussels, Copenhagen, Madrid, Paris":20261129T220000\r
SUMMARY:a3102 Ole Knudsen\r
END:VEVENT\r
BEGIN:VEVENT\r
STATUS:CANCELLED\r
DTSTART:20261129T173000Z\r
DTEND:20261129T210000Z\r
SUMMARY:a4100 Aflyst\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_what_outlook_exports() -> None:
    [mette, ole] = read_rota_file(OUTLOOK, "rota.ics", CPH)[DAY]
    assert mette.agent == "a2101"  # the event's own summary, not its reminder's
    assert mette.name == "Mette Jensen, Favrskov"
    assert mette.start == datetime(2026, 11, 29, 18, 30, tzinfo=CPH)  # HHMM, no seconds
    assert mette.end == datetime(2026, 11, 29, 22, 0, tzinfo=CPH)  # from the DURATION
    assert ole.start == datetime(2026, 11, 29, 18, 30, tzinfo=CPH)  # a quoted TZID
    # the cancelled event is no shift


def test_a_night_shift_is_still_on_after_midnight() -> None:
    night = Shift(
        agent="a1",
        start=datetime(2026, 11, 29, 22, 0, tzinfo=CPH),
        end=datetime(2026, 11, 30, 1, 0, tzinfo=CPH),
        role="standby",
    )
    rotas = {DAY: Rota(v=1, date=DAY, ts=START, shifts=(night,))}
    half_past = datetime(2026, 11, 30, 0, 30, tzinfo=CPH)
    assert current_shifts(rotas, half_past, CPH, GRACE) == (night,)
    assert standby_now(current_shifts(rotas, half_past, CPH, GRACE), "a1", half_past)
    assert current_shifts(rotas, half_past + timedelta(hours=1), CPH, GRACE) == ()


def test_a_full_rota_fits_and_old_days_are_let_go() -> None:
    topics = Topics()
    shifts = tuple(
        Shift(
            agent=f"a{n}", start=START, end=END, role="phone", name="Anne-Mette Søgaard Kristensen"
        )
        for n in range(500)
    )
    full = Rota(v=1, date=DAY, ts=START, shifts=shifts)
    payload = msgspec.json.encode(full)
    assert len(payload) > 64 * 1024  # more than any other payload may be ...
    update = decode(topics, topics.rota(DAY), payload)
    assert getattr(update, "rota", None) == full  # ... and still taken whole
    assert getattr(decode(topics, topics.rota(DAY), b" " * 300_000), "reason", "") == "oversized"

    clock = FakeClock(datetime(2026, 11, 29, 12, 0, tzinfo=CPH))
    hub = BoardHub(BoardRules(site="favrskov"), topics, clock)
    for offset in (-3, -1, 0, 1, 44, 46):
        day = DAY + timedelta(days=offset)
        rota = Rota(v=1, date=day, ts=START, shifts=())
        hub.on_message(topics.rota(day), msgspec.json.encode(rota))
    kept = sorted((day - DAY).days for day in hub.board.value.rotas)
    assert kept == [-1, 0, 1, 44]  # yesterday to 45 days ahead
    clock.advance(3 * 86400)  # three days on: the past ones go with the next rota
    hub.on_message(topics.rota(DAY + timedelta(days=3)), msgspec.json.encode(
        Rota(v=1, date=DAY + timedelta(days=3), ts=START, shifts=())
    ))  # fmt: skip
    assert sorted((day - DAY).days for day in hub.board.value.rotas) == [3, 44]
