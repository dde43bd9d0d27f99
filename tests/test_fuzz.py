"""Property tests: arbitrary bytes and JSON into every decoder that faces the outside.

Contract payloads go all the way through the board to the view and the desk screens; the
config parsers may only ever say ConfigError. (The AMI parser and the Asterisk model are
fuzzed in test_ami.py, the sign decoder in test_alpha.py.)
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.contract import Rejected, Topics, decode
from appliance.core.errors import ConfigError
from appliance.phone.bridge.config import parse_bridge_config
from appliance.programs.configuration import parse_config
from tests.support import payloads
from wallboard.view import board_view, encode_view

TOPICS = Topics()
NOW = datetime(2026, 11, 28, 17, 45, 5, tzinfo=UTC)

identifiers = st.one_of(
    st.sampled_from(["borger", "a2101", "favrskov", "all"]),
    st.text(max_size=40),
)
topics = st.one_of(
    st.builds(TOPICS.queue, identifiers),
    st.builds(TOPICS.agent, identifiers),
    st.builds(TOPICS.messages, identifiers),
    st.builds(TOPICS.set_result, identifiers, identifiers),
    st.just(TOPICS.system_status),
    st.text(max_size=60),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)
# Payloads that are nearly right: a valid contract message with one field replaced.
valid = [
    json.loads(payloads.queue(waiting=2, callers=[{"id": "1", "since": payloads.iso()}])),
    json.loads(payloads.agent()),
    {"v": 1, "text": "Personalemøde", "level": "info"},
]
field_names = st.sampled_from(
    ["v", "queue", "agent", "site", "state", "ts", "waiting", "longest_wait_s", "name",
     "reason", "text", "level", "expires", "callers", "agents", "today", "since"]
)  # fmt: skip
nearly_valid = st.builds(
    lambda base, key, value: json.dumps(base | {key: value}, allow_nan=True).encode(),
    st.sampled_from(valid),
    field_names,
    json_values,
)


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def _displayable(text: str) -> bool:
    return all(unicodedata.category(ch)[0] != "C" for ch in text)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(topics, st.one_of(st.binary(max_size=300), nearly_valid)), max_size=12))
def test_any_message_is_an_event_or_a_rejection_and_the_view_stays_clean(
    messages: list[tuple[str, bytes]],
) -> None:
    board = fold(Board(BoardRules(site="favrskov")), Connection(connected=True), 0.0)
    for index, (topic, payload) in enumerate(messages):
        event = decode(TOPICS, topic, payload)
        if not isinstance(event, Rejected):
            board = fold(board, event, float(index))  # type: ignore[arg-type]
    view = json.loads(encode_view(board_view(board, 100.0, NOW)))
    for text in _texts(view):
        assert _displayable(text), text
    for queue in view["queues"]:
        assert queue["waiting"] is None or 0 <= queue["waiting"] <= 10_000_000
        assert len(queue["name"] or "") <= 64


config_sections = st.dictionaries(
    st.sampled_from(["site", "mqtt", "web", "hours", "sign", "alarms", "history", "ami", "x"]),
    st.one_of(
        st.dictionaries(st.text(min_size=1, max_size=16), json_values, max_size=5),
        json_values,
    ),
    max_size=5,
)


def _toml(data: dict[str, Any]) -> str:
    """A small TOML writer for the fuzzer (scalars, arrays and one level of tables)."""

    def value(item: Any) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return repr(item).replace("inf", "inf").replace("nan", "nan")
        if isinstance(item, list):
            return "[" + ", ".join(value(v) for v in item if v is not None) + "]"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(v)}" for k, v in item.items()
                                   if v is not None) + "}"  # fmt: skip
        return json.dumps(item)

    lines = []
    for section, body in data.items():
        if isinstance(body, dict):
            lines.append(f"[{section}]")
            lines += [f"{json.dumps(k)} = {value(v)}" for k, v in body.items() if v is not None]
        elif body is not None:
            lines.insert(0, f"{section} = {value(body)}")
    return "\n".join(lines)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), config_sections.map(_toml)))
def test_any_config_text_is_a_config_or_a_config_error(text: str) -> None:
    for parse in (parse_config, parse_bridge_config):
        problems = ["parsed"]
        try:
            parse(text, "fuzz.toml")
        except ConfigError as error:
            problems = error.problems
        assert problems
        assert all(isinstance(problem, str) and problem for problem in problems)


def test_the_toml_writer_writes_toml() -> None:
    text = _toml({"site": {"id": "x", "n": [1, 2.5, True], "t": {"a": "b"}}, "top": 1})
    assert msgspec.toml.decode(text) == {"top": 1, "site": {"id": "x", "n": [1, 2.5, True],
                                                            "t": {"a": "b"}}}  # fmt: skip
