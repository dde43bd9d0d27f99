"""The AMI parser and the bridge's model of Asterisk's queues, without sockets."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from appliance.core.contract import IDENTIFIER, AgentUpdate, Topics, decode, encode
from appliance.phone.bridge import ami_protocol as ami
from appliance.phone.bridge.ami_protocol import MAX_LINE_BYTES
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
    whole = ami.Reader().messages(data)
    parser, messages, at = ami.Reader(), [], 0
    for cut in cuts * 100:
        messages += parser.messages(data[at : at + cut])
        at += cut
        if at >= len(data):
            break
    messages += parser.messages(data[at:])
    assert messages == whole
    assert len(whole) == len(parse_transcript(EVENING))


def test_an_overlong_line_drops_its_message_and_parsing_resumes() -> None:
    parser = ami.Reader()
    hostile = b"Event: X\r\nJunk: " + b"A" * (MAX_LINE_BYTES * 3) + b"\r\n\r\n"
    join = ami.Event({"Event": "QueueCallerJoin", "Queue": "q"})
    messages = parser.messages(hostile + ami.encode(join))
    assert messages == [join]
    assert parser.dropped == 1


def test_values_cannot_smuggle_fields() -> None:
    smuggling = ami.Action({"Action": "QueuePause", "Reason": "Pause\r\nAction: Originate"})
    (message,) = ami.Reader().messages(ami.encode(smuggling))
    assert message == ami.Action({"Action": "QueuePause", "Reason": "Pause Action: Originate"})


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for message in ami.Reader().messages(data):
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in message.fields.items())


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


# --- the sans-I/O exchange ------------------------------------------------------------------

ami_keys = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1)
ami_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Zl", "Zp")), max_size=40
).map(str.strip)
ami_messages = st.one_of(
    st.builds(
        lambda name, more: ami.Action({"Action": name} | more),
        ami_keys,
        st.dictionaries(ami_keys, ami_values, max_size=5),
    ),
    st.builds(
        lambda answer, more: ami.Response({"Response": answer} | more),
        st.sampled_from(["Success", "Error", "Goodbye"]),
        st.dictionaries(ami_keys, ami_values, max_size=5),
    ),
    st.builds(
        lambda name, more: ami.Event({"Event": name} | more),
        ami_keys,
        st.dictionaries(ami_keys, ami_values, max_size=5),
    ),
)


@given(st.lists(ami_messages, max_size=10), st.integers(1, 40))
def test_decode_of_encode_is_the_same_message(sent: list[ami.Message], chunk: int) -> None:
    stream = b"".join(ami.encode(message) for message in sent)
    reader, received = ami.Reader(), []
    for start in range(0, len(stream), chunk):
        received += reader.messages(stream[start : start + chunk])
    assert received == sent


def test_a_client_session_pairs_answers_with_its_actions() -> None:
    session = ami.ClientSession()
    session.receive_data(b"Asterisk Call Manager/7.0.3\r\n")
    assert session.next_event() == ami.Banner("Asterisk Call Manager/7.0.3")
    status_id, wire = session.send("QueueStatus")
    assert ami.Reader().messages(wire) == [ami.Action.named("QueueStatus", status_id)]
    pause_id, _ = session.send("QueuePause", {"Interface": "PJSIP/2101", "Paused": "true"})
    server_says = [
        ami.Response({"Response": "Success", "ActionID": status_id, "EventList": "start"}),
        ami.Event({"Event": "QueueCallerJoin", "Queue": "borger"}),  # unsolicited, in between
        ami.Event({"Event": "QueueParams", "Queue": "borger", "ActionID": status_id}),
        ami.Response({"Response": "Error", "ActionID": pause_id, "Message": "Not found"}),
        ami.Event({"Event": "QueueMember", "Queue": "borger", "ActionID": status_id}),
        ami.Event({"Event": "QueueStatusComplete", "ActionID": status_id, "EventList": "Complete"}),
    ]
    session.receive_data(b"".join(ami.encode(m) for m in server_says))
    events = []
    while (event := session.next_event()) is not None:
        events.append(event)
    join, pause, status = events
    assert join == server_says[1]
    assert isinstance(pause, ami.ActionDone)
    assert (pause.action_id, pause.response.success, pause.listed) == (pause_id, False, False)
    assert isinstance(status, ami.ActionDone)
    assert status.listed
    assert [e.name for e in status.items] == ["QueueParams", "QueueMember"]
    assert session.pending() == []
    late_id, _ = session.send("Ping")
    session.forget(late_id)  # timed out: a late answer is nobody's
    session.receive_data(ami.encode(ami.Response({"Response": "Success", "ActionID": late_id})))
    assert session.next_event() is None


def test_a_run_that_published_its_counts_takes_no_seed_from_them() -> None:
    """After midnight, or with no retained state at start, a reconnect brings back this
    run's own counts as retained: taken as a seed, they would be counted twice."""
    pbx = Pbx(CONFIG, EVENING_START)
    for n in range(5):
        join = {"Event": "QueueCallerJoin", "Queue": "borger", "Uniqueid": f"1.{n}", "Exten": "1"}
        pbx.apply(join, EVENING_START)
    own = pbx.queue_state("borger", EVENING_START).today
    assert own is not None
    assert own.offered == 5
    pbx.published.add("borger")  # the bridge published it; the broker now keeps it
    assert not pbx.seed_today("borger", own)
    assert pbx.counts("borger").offered == 5
    fresh = Pbx(CONFIG, EVENING_START)  # a restarted run: the same state is a seed
    assert fresh.seed_today("borger", own)
    assert fresh.counts("borger").offered == 5
