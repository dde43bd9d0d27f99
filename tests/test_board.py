"""The pure core: folding, metrics, levels, freshness and the view, on a fake clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest

from appliance.core.board import Board, BoardRules, Connection, fold, seconds_to_next_change
from appliance.core.clock import FakeClock
from appliance.core.config import AlarmsConfig, build_schedule, parse_config
from appliance.core.contract import Today, Topics, decode
from appliance.core.metrics import alarm_level, today_figures
from tests.support import payloads
from tests.test_contract import CONTRACT_QUEUE
from wallboard.view import board_view

TOPICS = Topics()
P = "hotline/v1"
NOW = datetime(2026, 11, 28, 17, 45, 5, tzinfo=UTC)  # 18:45:05 in Copenhagen


class Harness:
    """A board fed with raw MQTT messages on a clock the test moves."""

    def __init__(self, now: datetime = NOW, **rules: object) -> None:
        self.clock = FakeClock(now)
        self.board = Board(BoardRules(site="favrskov", **rules))  # type: ignore[arg-type]
        self.feed(Connection(True))
        self.message("system/status", b"online")

    def feed(self, event: object) -> None:
        self.board = fold(self.board, event, self.clock.monotonic())  # type: ignore[arg-type]

    def message(self, topic: str, payload: bytes) -> None:
        event = decode(TOPICS, f"{P}/{topic}", payload)
        self.feed(event)

    def view(self) -> dict[str, object]:
        view = board_view(self.board, self.clock.monotonic(), self.clock.now(), "Favrskov")
        return msgspec.to_builtins(view)  # type: ignore[no-any-return]


def test_the_issue_example_board() -> None:
    h = Harness()
    h.message("queues/borger", CONTRACT_QUEUE)
    h.message(
        "agents/a2101",
        payloads.agent(
            name="Mette Jensen",
            state="paused",
            reason="Frokost",
            since="2026-11-28T18:40:00+01:00",
            ts="2026-11-28T18:45:00+01:00",
        ),
    )
    h.message("messages/all", payloads.ticker("Personalemøde kl. 21.30"))
    h.clock.advance(8)
    view = h.view()
    assert view["generated_at"] == "2026-11-28T18:45:13+01:00"
    assert view["feed"] == "live"
    [queue] = view["queues"]  # type: ignore[misc]
    assert queue == {
        "queue": "borger",
        "name": "Digital hotline – borgere",
        "waiting": 3,
        "longest_wait_s": 150,
        "level": "warn",
        "stale": False,
        "agents": {
            "logged_in": 5,
            "available": 2,
            "ringing": 0,
            "busy": 2,
            "wrap_up": 0,
            "paused": 1,
        },
        "today": {
            "offered": 120,
            "answered": 110,
            "abandoned": 8,
            "sl_pct": 87.3,
            "abandon_pct": 5.1,
            "asa_s": 34.2,
            "aht_s": 245.0,
            "sl_formula": "answered",
            "sl_threshold_s": 60.0,
            "aht_includes_wrap": False,
        },
        # One message is no arrival rate yet: agents needed unknown, not made up.
        "staffing": {"needed": None, "serving": 4, "method": "erlang_c", "forecast": None},
        # The caller's municipality (a board without the shipped names: no name to give).
        "waiting_by_municipality": [{"code": "710", "name": "", "waiting": 1}],
    }
    assert view["agents"] == [
        {
            "agent": "a2101",
            "name": "Mette Jensen",
            "site": "favrskov",
            "state": "paused",
            "reason": "Frokost",
            "in_state_s": 308,
            "scheduled": None,
        }
    ]
    assert view["ticker"] == [{"text": "Personalemøde kl. 21.30", "level": "info"}]


def test_metrics_are_undefined_not_zero_without_answers() -> None:
    today = Today(date=date(2026, 11, 28), offered=2, abandoned=2, short_abandoned=2)
    figures = today_figures(today, date(2026, 11, 28))
    assert (figures.sl_pct, figures.abandon_pct, figures.asa_s, figures.aht_s) == (None,) * 4


def test_yesterdays_counts_are_zero_today() -> None:
    yesterday = Today(date=date(2026, 11, 27), offered=50, answered=40)
    assert today_figures(yesterday, date(2026, 11, 28)).answered == 0


@pytest.mark.parametrize(("day", "answered"), [("2026-11-29", 40), ("2026-11-28", 0)])
def test_the_day_turns_at_midnight_in_copenhagen_not_utc(day: str, answered: int) -> None:
    h = Harness(now=datetime(2026, 11, 28, 23, 30, tzinfo=UTC))  # 00:30 on the 29th there
    counts = payloads.today(date=day, offered=50, answered=40)
    h.message("queues/borger", payloads.queue(today=counts))
    [queue] = h.view()["queues"]  # type: ignore[misc]
    assert queue["today"]["answered"] == answered


@pytest.mark.parametrize(
    ("waiting", "longest", "level"),
    [
        (0, 999, "ok"),
        (1, 10, "ok"),
        (3, 10, "warn"),
        (1, 120, "warn"),
        (6, 10, "critical"),
        (1, 300, "critical"),
    ],
)
def test_alarm_levels(waiting: int, longest: float, level: str) -> None:
    assert alarm_level(waiting, longest, AlarmsConfig()) == level


def test_longest_wait_ticks_and_crosses_thresholds_by_itself() -> None:
    h = Harness()
    h.message("queues/borger", payloads.queue(waiting=1, longest_wait_s=100))
    assert h.view()["queues"][0]["level"] == "ok"  # type: ignore[index]
    delay = seconds_to_next_change(h.board, h.clock.monotonic(), h.clock.now())
    assert delay == pytest.approx(20.01)
    h.clock.advance(delay)  # type: ignore[arg-type]
    queue = h.view()["queues"][0]  # type: ignore[index]
    assert (queue["longest_wait_s"], queue["level"]) == (120, "warn")


def test_silent_queue_turns_stale_and_hides_its_numbers() -> None:
    h = Harness(stale_after_s=90.0)
    h.message("queues/borger", payloads.queue(waiting=4, longest_wait_s=30))
    h.clock.advance(90.5)
    view = h.view()
    queue = view["queues"][0]  # type: ignore[index]
    assert view["feed"] == "stale"
    assert queue["stale"] is True
    assert (queue["waiting"], queue["longest_wait_s"], queue["level"]) == (None, None, None)


@pytest.mark.parametrize(
    ("event", "feed"),
    [(Connection(False, "gone"), "disconnected"), (None, "offline")],
)
def test_no_live_numbers_without_broker_or_phone_system(event: object, feed: str) -> None:
    h = Harness()
    h.message("queues/borger", payloads.queue(waiting=4))
    h.message("agents/a2101", payloads.agent())
    if event is None:
        h.message("system/status", b"offline")
    else:
        h.feed(event)
    view = h.view()
    assert view["feed"] == feed
    assert view["queues"][0]["waiting"] is None  # type: ignore[index]
    assert view["agents"] == []


def test_reconnect_rebuilds_from_retained_state() -> None:
    h = Harness()
    h.message("queues/borger", payloads.queue(waiting=4))
    h.feed(Connection(False))
    h.feed(Connection(True))
    assert h.view()["queues"] == []


def test_queue_counts_are_derived_from_agents_when_the_payload_has_none() -> None:
    h = Harness()
    h.message("queues/borger", payloads.queue(waiting=1))
    for agent, state in [
        ("a1", "available"),
        ("a2", "busy"),
        ("a3", "paused"),
        ("a4", "logged_out"),
    ]:
        h.message(f"agents/{agent}", payloads.agent(agent, state))
    h.message("agents/a5", payloads.agent("a5", "busy", queues=["erhverv"]))
    counts = h.view()["queues"][0]["agents"]  # type: ignore[index]
    assert counts == {
        "logged_in": 3,
        "available": 1,
        "ringing": 0,
        "busy": 1,
        "wrap_up": 0,
        "paused": 1,
    }


def test_agents_on_duty_sorted_by_who_can_answer_first() -> None:
    h = Harness(show_queues=("borger",))
    h.message("agents/a1", payloads.agent("a1", "paused", name="Anne"))
    h.message("agents/a2", payloads.agent("a2", "available", name="Bo"))
    h.message("agents/a3", payloads.agent("a3", "logged_out", name="Carl"))
    h.message("agents/a4", payloads.agent("a4", "available", name="Dorte", queues=["erhverv"]))
    assert [a["name"] for a in h.view()["agents"]] == ["Bo", "Anne"]  # type: ignore[attr-defined]
    site = Harness(agents_show="site")
    site.message("agents/a1", payloads.agent("a1", site="aarhus"))
    site.message("agents/a2", payloads.agent("a2", site="favrskov"))
    assert [a["agent"] for a in site.view()["agents"]] == ["a2"]  # type: ignore[attr-defined]


def test_shown_queues_in_configured_order_and_others_ignored() -> None:
    h = Harness(show_queues=("erhverv", "borger"))
    for queue in ("borger", "forening", "erhverv"):
        h.message(f"queues/{queue}", payloads.queue(queue))
    assert [q["queue"] for q in h.view()["queues"]] == ["erhverv", "borger"]  # type: ignore[attr-defined]


def test_expired_ticker_message_disappears_on_time() -> None:
    h = Harness()
    h.message(
        "messages/favrskov", payloads.ticker("Husk møde", expires=payloads.iso(NOW, seconds=60))
    )
    h.message("messages/all", payloads.ticker("Til alle", level="warning"))
    assert [m["text"] for m in h.view()["ticker"]] == ["Til alle", "Husk møde"]  # type: ignore[attr-defined]
    delay = seconds_to_next_change(h.board, h.clock.monotonic(), h.clock.now())
    assert delay == pytest.approx(60.01)
    h.clock.advance(60.01)
    assert [m["text"] for m in h.view()["ticker"]] == ["Til alle"]  # type: ignore[attr-defined]


def test_removed_queue_and_agent_are_gone_and_fold_keeps_unchanged_boards() -> None:
    h = Harness()
    h.message("queues/borger", payloads.queue())
    h.message("agents/a1", payloads.agent("a1"))
    h.message("queues/borger", b"")
    h.message("agents/a1", b"")
    assert h.view()["queues"] == []
    assert h.view()["agents"] == []
    before = h.board
    h.feed(
        decode(
            TOPICS,
            f"{P}/sites/favrskov/agents/a1/set/result",
            b'{"v":1,"request_id":"r","status":"ok"}',
        )
    )
    assert h.board is before


def test_closed_hotline_says_when_it_opens_and_silences_alarms() -> None:
    original = build_schedule(parse_config('[site]\nid = "x"\n').hours, range(2026, 2028))
    h = Harness(schedule=original)  # Saturday 18:45: closed until Sunday 18:30
    h.message("queues/borger", payloads.queue(waiting=9, longest_wait_s=500))
    view = h.view()
    assert (view["open"], view["next_open"]) == (False, "2026-11-29T18:30+01:00")
    queue = view["queues"][0]  # type: ignore[index]
    assert (queue["waiting"], queue["level"]) == (9, "ok")
    delay = seconds_to_next_change(h.board, h.clock.monotonic(), h.clock.now())
    assert delay == pytest.approx(90.01)  # the queue turning stale comes before the opening
