"""Desk decisions, purely: whose desk, what a press asks, what the LED shows."""

from __future__ import annotations

import msgspec

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.config import DeskConfig, DesksConfig
from appliance.core.contract import Topics, decode
from appliance.core.desk import (
    DeskMessage,
    Failure,
    Pending,
    Refusal,
    Request,
    decide_press,
    desk_agent,
    desk_light,
)
from tests.support import payloads
from wallboard.words import press_text

P = "hotline/v1"


def board_with(*agents: bytes, queue: bytes | None = None) -> Board:
    board = fold(Board(BoardRules(site="favrskov")), Connection(True), 0.0)
    for payload in agents:
        event = decode(Topics(), f"{P}/agents/{msgspec.json.decode(payload)['agent']}", payload)
        board = fold(board, event, 0.0)  # type: ignore[arg-type]
    if queue is not None:
        board = fold(board, decode(Topics(), f"{P}/queues/borger", queue), 0.0)  # type: ignore[arg-type]
    return board


DESK = DeskConfig(id="desk-1", agent="a1", button="GPIO17", hold_s=1.5)
SETTINGS = DesksConfig()


def test_a_press_toggles_and_a_hold_pauses_with_its_reason() -> None:
    available = board_with(payloads.agent("a1", "available"))
    assert decide_press(DESK, available, 0.2, SETTINGS, is_open=True) == Request(
        "a1", "paused", "Pause"
    )
    assert decide_press(DESK, available, 2.0, SETTINGS, is_open=True) == Request(
        "a1", "paused", "Frokost"
    )
    paused = board_with(payloads.agent("a1", "paused", reason="Pause"))
    assert decide_press(DESK, paused, 0.2, SETTINGS, is_open=True) == Request(
        "a1", "available", None
    )
    busy = board_with(payloads.agent("a1", "busy"))
    assert decide_press(DESK, busy, 0.2, SETTINGS, is_open=True) == Request("a1", "paused", "Pause")


def test_no_agent_no_request() -> None:
    for board in (board_with(), board_with(payloads.agent("a1", "logged_out"))):
        refusal = decide_press(DESK, board, 0.2, SETTINGS, is_open=True)
        assert refusal == Refusal(DeskMessage("no_agent"))
        assert press_text(refusal.message, "da") == "Ingen agent logget ind"


def test_minimum_staffing_guard_refuses_the_last_available_unless_held() -> None:
    guard = DesksConfig(min_available=1, override_hold_s=5)
    board = board_with(
        payloads.agent("a1", "available"),
        payloads.agent("a2", "busy"),
        queue=payloads.queue(waiting=2),
    )
    refusal = decide_press(DESK, board, 0.2, guard, is_open=True)
    assert isinstance(refusal, Refusal)
    assert refusal.message == DeskMessage("last_available")
    assert "Sidste ledige" in press_text(refusal.message, "da")
    assert isinstance(decide_press(DESK, board, 5.5, guard, is_open=True), Request)
    assert isinstance(decide_press(DESK, board, 0.2, guard, is_open=False), Request)
    two = board_with(
        payloads.agent("a1", "available"),
        payloads.agent("a2", "available"),
        queue=payloads.queue(waiting=2),
    )
    assert isinstance(decide_press(DESK, two, 0.2, guard, is_open=True), Request)


def test_hot_desking_follows_the_extension() -> None:
    desk = DeskConfig(id="desk-1", extension="2101", button="GPIO17")
    first = board_with(
        payloads.agent("a1", "available", extension="2101"),
        payloads.agent("a2", "available", extension="2102"),
    )
    assert desk_agent(desk, first).state.agent == "a1"  # type: ignore[union-attr]
    moved = board_with(
        payloads.agent("a1", "logged_out", extension="2101"),
        payloads.agent("a2", "paused", extension="2101"),
    )
    assert desk_agent(desk, moved).state.agent == "a2"  # type: ignore[union-attr]


def test_the_light_shows_the_confirmed_state_then_pending_then_errors() -> None:
    board = board_with(
        payloads.agent("a1", "available"),
        payloads.agent("a2", "paused"),
        payloads.agent("a3", "busy"),
    )
    assert desk_light(board.agents["a1"], None, None, 0) == "green"
    assert desk_light(board.agents["a2"], None, None, 0) == "red"
    assert desk_light(board.agents["a3"], None, None, 0) == "amber"
    assert desk_light(None, None, None, 0) == "off"
    from datetime import UTC, datetime  # noqa: PLC0415

    pending = Pending("p", Request("a1", "paused", "Pause"), datetime.now(UTC))
    assert desk_light(board.agents["a1"], pending, None, 0) == "pending"
    assert desk_light(board.agents["a1"], pending, Failure("x", 5.0), 1.0) == "error"
    assert desk_light(board.agents["a1"], None, Failure("x", 5.0), 6.0) == "green"
