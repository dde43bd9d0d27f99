"""Values that parse but cannot be true: shown as unknown, counted, never as nonsense."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from appliance.core.board import BoardRules
from appliance.core.clock import FakeClock
from appliance.core.contract import Rejected, Today, Topics, decode
from appliance.core.metrics import today_figures
from appliance.features.hub import BoardHub
from tests.support import payloads
from wallboard.view import board_view

NOW = datetime(2026, 11, 28, 17, 45, 5, tzinfo=UTC)
P = "hotline/v1"


def hub() -> BoardHub:
    hub = BoardHub(BoardRules(site="favrskov"), Topics(), FakeClock(NOW))
    hub.on_connection(True, "connected")
    hub.on_message(f"{P}/system/status", b"online")
    return hub


def view(hub: BoardHub) -> dict[str, object]:
    built = board_view(hub.board.value, hub.clock.monotonic(), hub.clock.now())
    return msgspec.to_builtins(built)  # type: ignore[no-any-return]


def test_a_status_other_than_online_or_offline_is_malformed_and_the_last_one_stays() -> None:
    h = hub()
    assert isinstance(decode(Topics(), f"{P}/system/status", b"maintenance"), Rejected)
    h.on_message(f"{P}/system/status", b"maintenance")
    assert h.rejected["malformed"] == 1
    assert h.board.value.feed_online  # still online: the last good status is kept
    h.on_message(f"{P}/system/status", b"offline")
    assert not h.board.value.feed_online
    h.on_message(f"{P}/system/status", b"\xff\xfe")
    assert h.rejected["malformed"] == 2
    assert not h.board.value.feed_online
    h.on_message(f"{P}/system/status", b"")  # empty: absent, as the contract says
    assert not h.board.value.feed_online


def test_times_in_state_from_a_broken_clock_are_unknown_and_counted() -> None:
    h = hub()
    now = NOW.isoformat()
    h.on_message(f"{P}/agents/a1", payloads.agent("a1", ts="9999-12-31T23:59:59+00:00"))
    h.on_message(f"{P}/agents/a2", payloads.agent("a2", since="0001-01-01T00:00:00+00:00", ts=now))
    h.on_message(f"{P}/agents/a3", payloads.agent("a3", since="2026-11-28T17:40:00+00:00", ts=now))
    h.on_message(f"{P}/agents/a4", payloads.agent("a4", since="2026-11-28T18:40:00+00:00", ts=now))
    agents = {agent["agent"]: agent["in_state_s"] for agent in view(h)["agents"]}  # type: ignore[attr-defined]
    assert agents == {"a1": None, "a2": None, "a3": 305, "a4": None}  # a4: since after ts
    assert h.implausible["agent_times"] == 3
    h.clock.advance(60)
    h.on_message(f"{P}/agents/a1", payloads.agent("a1", ts=h.clock.now().isoformat()))
    agents = {agent["agent"]: agent["in_state_s"] for agent in view(h)["agents"]}  # type: ignore[attr-defined]
    assert agents["a1"] == 60  # believable again: timed from when this appliance first saw it


def counts(**fields: int) -> bytes:
    return payloads.queue(waiting=1, today=payloads.today(**fields))


def test_contradictory_counts_give_no_ratio_and_are_counted() -> None:
    h = hub()
    h.on_message(f"{P}/queues/borger", counts(offered=5, answered=8, answered_within_sl=8))
    today = view(h)["queues"][0]["today"]  # type: ignore[index]
    assert (today["offered"], today["answered"]) == (5, 8)  # shown as they came
    assert (today["sl_pct"], today["abandon_pct"], today["asa_s"]) == (None, None, None)
    assert h.implausible["today_counts"] == 1
    h.on_message(f"{P}/queues/borger", counts(offered=10, answered=5, answered_within_sl=8))
    assert view(h)["queues"][0]["today"]["sl_pct"] is None  # type: ignore[index]
    h.on_message(f"{P}/queues/borger", counts(offered=10, abandoned=2, short_abandoned=3))
    assert view(h)["queues"][0]["today"]["abandon_pct"] is None  # type: ignore[index]
    assert h.implausible["today_counts"] == 3
    h.on_message(f"{P}/queues/borger", counts(offered=10, answered=8, answered_within_sl=6))
    assert view(h)["queues"][0]["today"]["sl_pct"] == 75.0  # type: ignore[index]
    assert h.implausible["today_counts"] == 3


@given(st.lists(st.integers(0, 1000), min_size=6, max_size=6))
def test_no_ratio_is_ever_outside_0_to_100(numbers: list[int]) -> None:
    offered, answered, abandoned, short, within, wait = numbers
    today = msgspec.json.decode(
        json.dumps(
            payloads.today(
                offered=offered,
                answered=answered,
                abandoned=abandoned,
                short_abandoned=short,
                answered_within_sl=within,
                wait_answered_s=wait,
            )
        ),
        type=Today,
    )
    figures = today_figures(today, today.date)
    for pct in (figures.sl_pct, figures.abandon_pct):
        assert pct is None or 0 <= pct <= 100
