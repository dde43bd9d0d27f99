from __future__ import annotations

import json

import pytest

from appliance.core.contract import (
    AgentUpdate,
    FeedStatus,
    QueueUpdate,
    Rejected,
    SetRequestUpdate,
    SetResultUpdate,
    TickerUpdate,
    Topics,
    decode,
)
from appliance.core.values import clean_text
from tests.support import payloads

TOPICS = Topics()
P = "hotline/v1"

CONTRACT_QUEUE = b"""{
  "v": 1, "queue": "borger", "name": "Digital hotline \xe2\x80\x93 borgere",
  "ts": "2026-11-28T18:45:03+01:00", "waiting": 3, "longest_wait_s": 142,
  "callers": [{"id": "1764351761.42", "since": "2026-11-28T18:42:41+01:00",
               "municipality": "710"}],
  "agents": {"logged_in": 5, "available": 2, "ringing": 0, "busy": 2, "wrap_up": 0,
             "paused": 1},
  "today": {"date": "2026-11-28", "offered": 120, "answered": 110, "abandoned": 8,
            "short_abandoned": 2, "answered_within_sl": 96, "sl_threshold_s": 60,
            "wait_answered_s": 3762, "talk_s": 26950}
}"""


def test_the_contracts_own_examples_decode() -> None:
    event = decode(TOPICS, f"{P}/queues/borger", CONTRACT_QUEUE)
    assert isinstance(event, QueueUpdate)
    assert event.state is not None
    assert event.state.waiting == 3
    assert event.state.name == "Digital hotline – borgere"
    assert event.state.today is not None
    assert event.state.today.answered == 110
    agent = decode(TOPICS, f"{P}/agents/a2101", payloads.agent(reason="Frokost", state="paused"))
    assert isinstance(agent, AgentUpdate)
    assert agent.state is not None
    assert agent.state.reason == "Frokost"


def test_agents_share_what_their_payloads_repeat() -> None:
    # A reconnect storm brings thousands: each keeps no copies of its site and queues.
    first, second = (
        decode(TOPICS, f"{P}/agents/{agent}", payloads.agent(agent, queues=["borger", "erhverv"]))
        for agent in ("a2101", "a2102")
    )
    assert isinstance(first, AgentUpdate)
    assert first.state is not None
    assert isinstance(second, AgentUpdate)
    assert second.state is not None
    assert first.state.site == "favrskov"
    assert first.state.queues == ("borger", "erhverv")
    assert first.state.site is second.state.site
    assert first.state.queues is second.state.queues
    assert first.agent is first.state.agent  # the id kept once, not from topic and payload


def test_system_status_is_plain_text_and_absent_means_offline() -> None:
    assert decode(TOPICS, f"{P}/system/status", b"online") == FeedStatus(True)
    assert decode(TOPICS, f"{P}/system/status", b"offline") == FeedStatus(False)
    assert decode(TOPICS, f"{P}/system/status", b"") == FeedStatus(False)


@pytest.mark.parametrize("topic", ["queues/borger", "agents/a2101", "messages/all"])
def test_empty_retained_payload_removes_the_entity(topic: str) -> None:
    event = decode(TOPICS, f"{P}/{topic}", b"")
    assert isinstance(event, QueueUpdate | AgentUpdate | TickerUpdate)
    assert getattr(event, "state", getattr(event, "message", "x")) is None


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("queues/borger", b"{", "malformed"),
        ("queues/borger", b"[]", "malformed"),
        ("queues/borger", payloads.queue(waiting=-1), "malformed"),
        ("queues/borger", payloads.queue(waiting="3"), "malformed"),
        ("queues/borger", payloads.queue(waiting=3.5), "malformed"),
        ("queues/borger", payloads.queue(waiting=10**12), "malformed"),
        ("queues/borger", payloads.queue(longest_wait_s=1e308), "malformed"),
        (
            "queues/borger",
            b'{"v":1,"queue":"borger","ts":"2026-11-28T18:45:03+01:00",'
            b'"waiting":NaN,"longest_wait_s":0}',
            "malformed",
        ),
        ("queues/borger", payloads.queue(ts="2026-11-28T18:45:03"), "malformed"),
        ("queues/borger", payloads.queue(v=2), "version"),
        ("queues/borger", json.dumps({"v": 2, "totally": "different"}).encode(), "version"),
        ("queues/borger", payloads.queue(queue="erhverv"), "identifier"),
        ("queues/Borger", payloads.queue(queue="Borger"), "identifier"),
        ("queues/borger", b"x" * (64 * 1024 + 1), "oversized"),
        ("agents/a2101", payloads.agent(state="asleep"), "malformed"),
        ("agents/a2101", payloads.agent(site="../etc"), "identifier"),
        ("agents/a2101", payloads.agent(agent="a9999"), "identifier"),
        ("messages/all", payloads.ticker("hi", level="panic"), "malformed"),
        ("sites/favrskov/agents/a2101/set/result", b'{"v":1}', "malformed"),
        ("queues/borger/extra", payloads.queue(), "topic"),
        ("elsewhere/borger", payloads.queue(), "topic"),
    ],
)
def test_bad_messages_are_rejected_with_a_reason(topic: str, payload: bytes, reason: str) -> None:
    event = decode(TOPICS, f"{P}/{topic}", payload)
    assert isinstance(event, Rejected)
    assert event.reason == reason


def test_too_many_callers_is_malformed() -> None:
    callers = [{"id": str(i), "since": payloads.iso()} for i in range(501)]
    event = decode(TOPICS, f"{P}/queues/borger", payloads.queue(callers=callers))
    assert isinstance(event, Rejected)


def test_text_is_cleaned_of_control_characters_and_capped() -> None:
    event = decode(
        TOPICS,
        f"{P}/agents/a2101",
        payloads.agent(name="Mette\x00\x1b[31m Jensen\u202e\n", reason="x" * 100, state="paused"),
    )
    assert isinstance(event, AgentUpdate)
    assert event.state is not None
    assert event.state.name == "Mette[31m Jensen"
    assert event.state.reason is not None
    assert len(event.state.reason) == 64
    assert clean_text("  Personale\u00a0møde\tkl. 21.30 ", 200) == "Personale møde kl. 21.30"


def test_requests_and_results_carry_their_site_and_agent() -> None:
    result = decode(
        TOPICS,
        f"{P}/sites/favrskov/agents/a2101/set/result",
        b'{"v":1,"request_id":"r1","status":"error","error":"nope"}',
    )
    assert isinstance(result, SetResultUpdate)
    assert (result.site, result.agent, result.result.error) == ("favrskov", "a2101", "nope")
    request = {
        "v": 1,
        "request_id": "r1",
        "agent": "a2101",
        "site": "favrskov",
        "state": "paused",
        "reason": "Pause",
        "ts": payloads.iso(),
        "expires": payloads.iso(seconds=60),
    }
    good = decode(TOPICS, f"{P}/sites/favrskov/agents/a2101/set", json.dumps(request).encode())
    assert isinstance(good, SetRequestUpdate)
    other_site = decode(TOPICS, f"{P}/sites/aarhus/agents/a2101/set", json.dumps(request).encode())
    assert isinstance(other_site, Rejected)
    assert other_site.reason == "identifier"
