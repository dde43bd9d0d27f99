"""The AMI parser and the bridge's model of Asterisk's queues, without sockets."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from appliance.core.contract import IDENTIFIER, AgentUpdate, Topics, decode, encode
from appliance.phone.bridge.ami import MAX_LINE_BYTES, AmiParser, encode_message
from appliance.phone.bridge.config import parse_bridge_config
from appliance.phone.bridge.pbx import Pbx, derived_agent_id
from tests.support.fake_ami import parse_transcript

EVENING = (Path(__file__).parent / "transcripts" / "asterisk-evening.ami").read_text()
CPH = ZoneInfo("Europe/Copenhagen")
EVENING_START = datetime(2026, 11, 28, 18, 30, tzinfo=CPH)
CONFIG = parse_bridge_config("""
[ami]
username = "hotline"
secret_file = "/dev/null"

[stats]
wrap_up_s = 30

[queues.borger]
asterisk = "borger"

[queues.erhverv]
asterisk = "erhverv"

[[agents]]
interface = "PJSIP/2101"
agent = "a2101"
site = "favrskov"
""")


def member(queue: str, status: int, paused: str = "0", event: str = "QueueMemberStatus") -> dict:
    return {"Event": event, "Queue": queue, "Interface": "PJSIP/2101", "MemberName": "Mette",
            "Status": str(status), "Paused": paused, "PausedReason": "Frokost"}  # fmt: skip


@given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40))
def test_any_chunking_gives_the_same_messages(cuts: list[int]) -> None:
    data = EVENING.replace("\n", "\r\n").encode()
    whole = AmiParser().feed(data)
    parser, messages, at = AmiParser(), [], 0
    for cut in cuts * 100:
        messages += parser.feed(data[at : at + cut])
        at += cut
        if at >= len(data):
            break
    messages += parser.feed(data[at:])
    assert messages == whole
    assert len(whole) == len(parse_transcript(EVENING))


def test_an_overlong_line_drops_its_message_and_parsing_resumes() -> None:
    parser = AmiParser()
    hostile = b"Event: X\r\nJunk: " + b"A" * (MAX_LINE_BYTES * 3) + b"\r\n\r\n"
    messages = parser.feed(hostile + encode_message({"Event": "QueueCallerJoin", "Queue": "q"}))
    assert messages == [{"Event": "QueueCallerJoin", "Queue": "q"}]
    assert parser.dropped == 1


def test_values_cannot_smuggle_fields() -> None:
    (message,) = AmiParser().feed(encode_message({"Reason": "Pause\r\nAction: Originate"}))
    assert message == {"Reason": "Pause Action: Originate"}


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for message in AmiParser().feed(data):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in message.items())


event_names = st.sampled_from(
    ["QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon", "AgentCalled", "AgentConnect",
     "AgentComplete", "AgentRingNoAnswer", "QueueMemberStatus", "QueueMemberPause",
     "QueueMemberAdded", "QueueMemberRemoved", "QueueEntry", "QueueMember", "Other"]
)  # fmt: skip
values = st.one_of(st.text(max_size=80), st.sampled_from(["1", "0", "-5", "1e309", "nan", "6"]))
fields = st.sampled_from(
    ["Uniqueid", "Interface", "Location", "Status", "Paused", "PausedReason", "HoldTime",
     "TalkTime", "Exten", "MemberName", "Wait", "Position", "Reason"]
)  # fmt: skip
events = st.builds(
    lambda name, queue, extra: {"Event": name, "Queue": queue, **extra},
    event_names,
    st.sampled_from(["borger", "erhverv", "intern", ""]),
    st.dictionaries(fields, values, max_size=8),
)


@given(st.lists(events, max_size=30), st.lists(events, max_size=10))
def test_arbitrary_events_only_ever_give_contract_payloads(
    stream: list[dict[str, str]], snapshot: list[dict[str, str]]
) -> None:
    pbx, topics = Pbx(CONFIG, EVENING_START), Topics()
    for index, event in enumerate(stream):
        pbx.apply(event, EVENING_START + timedelta(seconds=index))
    pbx.apply_snapshot(snapshot, EVENING_START + timedelta(minutes=1))
    now = EVENING_START + timedelta(minutes=2)
    for queue in CONFIG.queues:
        state = pbx.queue_state(queue, now)
        assert (
            decode(topics, topics.queue(queue), encode(state)).__class__.__name__ == "QueueUpdate"
        )
    for interface in pbx.members:
        agent = pbx.agent_state(interface, now)
        if agent is not None:
            topic = topics.agent(agent.agent)
            assert isinstance(decode(topics, topic, encode(agent)), AgentUpdate)


def test_derived_agent_ids_are_identifiers() -> None:
    assert derived_agent_id("PJSIP/2101") == "pjsip-2101"
    assert derived_agent_id("Local/2101@agents/n") == "local-2101-agents-n"
    assert IDENTIFIER.fullmatch(derived_agent_id("/////"))
    assert IDENTIFIER.fullmatch(derived_agent_id("SIP/" + "x" * 100))


def test_paused_in_one_of_two_queues_still_takes_calls() -> None:
    pbx = Pbx(CONFIG, EVENING_START)
    pbx.apply(member("borger", 1, event="QueueMemberAdded"), EVENING_START)
    pbx.apply(member("erhverv", 1, event="QueueMemberAdded"), EVENING_START)
    pbx.apply(member("borger", 1, "1", "QueueMemberPause"), EVENING_START)
    assert pbx.agent_state("PJSIP/2101", EVENING_START).state == "available"  # type: ignore[union-attr]
    pbx.apply(member("erhverv", 1, "1", "QueueMemberPause"), EVENING_START)
    state = pbx.agent_state("PJSIP/2101", EVENING_START)
    assert state is not None
    assert (state.state, state.reason, state.queues) == ("paused", "Frokost", ("borger", "erhverv"))
    pbx.apply(member("borger", 5), EVENING_START)  # device unavailable: logged out
    assert pbx.agent_state("PJSIP/2101", EVENING_START).state == "logged_out"  # type: ignore[union-attr]


def test_wrap_up_follows_a_call_for_the_configured_time() -> None:
    pbx = Pbx(CONFIG, EVENING_START)
    pbx.apply(member("borger", 1, event="QueueMemberAdded"), EVENING_START)
    complete = {"Event": "AgentComplete", "Queue": "borger", "Interface": "PJSIP/2101",
                "TalkTime": "200", "HoldTime": "5"}  # fmt: skip
    pbx.apply(complete, EVENING_START)
    assert pbx.agent_state("PJSIP/2101", EVENING_START).state == "wrap_up"  # type: ignore[union-attr]
    assert pbx.next_wrap_up_end() == EVENING_START + timedelta(seconds=30)
    later = EVENING_START + timedelta(seconds=31)
    assert pbx.end_wrap_ups(later).members == {"PJSIP/2101"}
    assert pbx.agent_state("PJSIP/2101", later).state == "available"  # type: ignore[union-attr]


def test_todays_counts_start_again_at_local_midnight() -> None:
    before = datetime(2026, 11, 28, 23, 59, 30, tzinfo=CPH)
    pbx = Pbx(CONFIG, before)
    join = {"Event": "QueueCallerJoin", "Queue": "borger", "Uniqueid": "1.1", "Exten": "1"}
    pbx.apply(join, before)
    assert pbx.queue_state("borger", before).today.offered == 1  # type: ignore[union-attr]
    after = before + timedelta(seconds=31)
    assert pbx.roll_day(after).queues == {"borger", "erhverv"}
    today = pbx.queue_state("borger", after).today
    assert today is not None
    assert (today.date.isoformat(), today.offered) == ("2026-11-29", 0)
    assert pbx.queue_state("borger", after).waiting == 1  # the caller still waits, though
