"""The wallboard's stream: a page that starts from a snapshot and applies every delta has
the board the appliance would render afresh, whatever happened in between; a single
agent's change costs a delta the size of that agent, not of the board."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import example, given, settings
from hypothesis import strategies as st

from appliance.core.board import (
    Board,
    BoardEvent,
    BoardRules,
    Connection,
    QueueEntry,
    agent_counts,
    fold,
)
from appliance.core.contract import (
    AGENT_STATES,
    AgentCounts,
    AgentState,
    AgentUpdate,
    FeedStatus,
    QueueState,
    QueueUpdate,
    Rota,
    RotaUpdate,
    Shift,
    TickerMessage,
    TickerUpdate,
)
from appliance.core.hours import Schedule
from wallboard.stream import BoardStream, Delta, Snapshot, Touches, apply_delta, encode
from wallboard.view import BoardView, board_view

NOW = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
RULES = BoardRules(site="favrskov", schedule=Schedule.always_open())
STATES = ["available", "ringing", "busy", "wrap_up", "paused", "logged_out"]


def agent_update(number: int, state: str, queues: list[str], name: str) -> AgentUpdate:
    return AgentUpdate(
        f"a{number}",
        AgentState(
            v=1, agent=f"a{number}", name=name, site="favrskov", state=state, ts=NOW,  # type: ignore[arg-type]
            queues=tuple(queues), reason="Frokost" if state == "paused" else None,
        ),
    )  # fmt: skip


def queue_update(number: int, waiting: int, counted: bool) -> QueueUpdate:
    counts = AgentCounts(logged_in=3, available=1, busy=2) if counted else None
    return QueueUpdate(
        f"q{number}",
        QueueState(
            v=1, queue=f"q{number}", ts=NOW, waiting=waiting, longest_wait_s=10.0 * waiting,
            name=f"Kø {number}", agents=counts,
        ),
    )  # fmt: skip


def rota_update(agents: list[int]) -> RotaUpdate:
    """Today's rota: who is expected from 17:00 to 21:00 (18:00 now), the rest off it."""
    shifts = tuple(
        Shift(agent=f"a{n}", start=NOW - timedelta(hours=1), end=NOW + timedelta(hours=3))
        for n in agents
    )
    day = NOW.date()
    return RotaUpdate(day, Rota(v=1, date=day, ts=NOW, shifts=shifts) if agents else None)


events = st.one_of(
    st.builds(rota_update, st.lists(st.integers(0, 5), max_size=4, unique=True)),
    st.builds(
        agent_update,
        st.integers(0, 5),
        st.sampled_from(STATES),
        st.lists(st.sampled_from(["q0", "q1", "q2"]), max_size=2, unique=True),
        st.sampled_from(["Anne", "Bo", "Åse", "Ib"]),
    ),
    st.builds(lambda n: AgentUpdate(f"a{n}", None), st.integers(0, 5)),
    st.builds(queue_update, st.integers(0, 3), st.integers(0, 4), st.booleans()),
    st.builds(lambda n: QueueUpdate(f"q{n}", None), st.integers(0, 3)),
    st.builds(Connection, st.booleans()),
    st.builds(FeedStatus, st.booleans()),
    st.builds(
        lambda text: TickerUpdate("all", TickerMessage(v=1, text=text) if text else None),
        st.sampled_from(["", "Personalemøde", "Husk pausen"]),
    ),
)


def received(view: BoardView, message: Snapshot | Delta) -> BoardView:
    """What a page holds after `message`, through the wire's own JSON."""
    wire = msgspec.json.decode(encode(message), type=Snapshot | Delta)
    return wire.board if isinstance(wire, Snapshot) else apply_delta(view, wire)


@settings(max_examples=300, deadline=None)
@given(st.lists(events, min_size=1, max_size=40), st.integers(0, 39))
@example([rota_update([0]), agent_update(0, "available", [], "Anne")], 0)  # on the rota
def test_a_page_that_applies_every_delta_has_the_board_as_rendered_afresh(
    history: list[BoardEvent], joins_at: int
) -> None:
    board = fold(fold(Board(RULES), Connection(True), 0.0), FeedStatus(True), 0.0)
    stream, touches = BoardStream(), Touches()
    stream.step(board, touches, 0.0, NOW)
    page: BoardView | None = None
    for index, event in enumerate(history):
        board = fold(board, event, 1.0)
        touches.add(board)
        delta = stream.step(board, touches, 1.0, NOW)
        touches.clear()
        if page is None and index >= joins_at:
            page = received(
                board_view(board, 1.0, NOW), Snapshot(stream.number, board_view(board, 1.0, NOW))
            )
        elif page is not None and delta is not None:
            page = received(page, delta)
        assert stream.model == board_view(board, 1.0, NOW)  # the displays' model, too
        if page is not None:
            assert page == board_view(board, 1.0, NOW)


def big_board(queues: int = 40, agents: int = 2000) -> Board:
    """National scale: 98 municipalities' queues and staff, every queue with its counts."""
    board = fold(
        fold(Board(BoardRules(site="aarhus")), Connection(True), 0.0), FeedStatus(True), 0.0
    )
    for number in range(queues):
        board = fold(board, queue_update(number, number % 4, counted=True), 0.0)
    for number in range(agents):
        queue_names = [f"q{number % queues}", f"q{(number * 7) % queues}"]
        board = fold(
            board, agent_update(number, STATES[number % 5], queue_names, f"Agent {number}"), 0.0
        )
    return board


def test_one_agent_changing_on_the_big_board_costs_a_delta_of_that_agent() -> None:
    board = big_board()
    stream, touches = BoardStream(), Touches()
    stream.step(board, touches, 0.0, NOW)
    whole = len(encode(Snapshot(stream.number, board_view(board, 0.5, NOW))))
    sizes = []
    for number in range(0, 2000, 97):
        state = STATES[(number + 1) % 5]  # another state than it had
        board = fold(board, agent_update(number, state, ["q1"], f"Agent {number}"), 0.5)
        touches.add(board)
        delta = stream.step(board, touches, 0.5, NOW)
        touches.clear()
        assert delta is not None
        assert delta.agents is not msgspec.UNSET
        assert [a.agent for a in delta.agents] == [f"a{number}"]
        sizes.append(len(encode(delta)))
    assert whole > 200_000
    assert max(sizes) <= 2048, sizes  # the bound: ≤ 2 KB per single-agent change


def test_times_that_only_tick_are_not_news_but_a_new_state_is() -> None:
    board = fold(fold(Board(RULES), Connection(True), 0.0), FeedStatus(True), 0.0)
    board = fold(board, queue_update(0, 2, counted=True), 0.0)
    board = fold(board, agent_update(1, "busy", ["q0"], "Bo"), 0.0)
    stream, touches = BoardStream(), Touches()
    stream.step(board, touches, 0.0, NOW)
    # 40 s later the keepalive: the wait and the call have grown as the clock did.
    later = NOW + timedelta(seconds=40)
    touches.everything = True
    quiet = stream.step(board, touches, 40.0, later, keepalive=True)
    touches.clear()
    assert quiet is not None
    assert json.loads(encode(quiet)).keys() == {"type", "n", "generated_at"}
    assert stream.model is not None
    assert stream.model.queues[0].longest_wait_s == 60
    # The same agent, a new state: news.
    board = fold(board, agent_update(1, "wrap_up", ["q0"], "Bo"), 41.0)
    touches.add(board)
    news = stream.step(board, touches, 41.0, later)
    assert news is not None
    assert news.agents is not msgspec.UNSET
    assert [(a.state, a.in_state_s) for a in news.agents] == [("wrap_up", 0)]


def counted_by_hand(board: Board, queue: str) -> AgentCounts:
    tally = dict.fromkeys(AGENT_STATES, 0)
    for entry in board.agents.values():
        if queue in entry.state.queues:
            tally[entry.state.state] += 1
    on = sum(tally.values()) - tally.pop("logged_out")
    return AgentCounts(logged_in=on, **tally)


@settings(max_examples=200, deadline=None)
@given(st.lists(events, min_size=1, max_size=60))
def test_a_queue_counted_from_its_agents_is_counted_right_as_they_come_and_go(
    history: list[BoardEvent],
) -> None:
    board = fold(Board(RULES), Connection(True), 0.0)
    for event in history:
        board = fold(board, event, 1.0)
        for number in range(3):
            state = queue_update(number, 1, counted=False).state
            assert state is not None
            assert agent_counts(board, QueueEntry(state, 1.0)) == counted_by_hand(
                board, state.queue
            )
