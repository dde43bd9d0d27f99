"""Board views: a change goes out in the turn that made it; a burst after it is coalesced."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import msgspec

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.clock import FakeClock, SystemClock
from appliance.core.contract import (
    AgentState,
    AgentUpdate,
    FeedStatus,
    QueueState,
    QueueUpdate,
    TickerMessage,
    TickerUpdate,
)
from appliance.runtime.latest import Latest
from tests.support.tasks import beside
from wallboard.live import ViewPublisher
from wallboard.stream import Delta, Snapshot, apply_delta


def connected(board: Board, connection: bool) -> Board:
    return fold(board, Connection(connected=connection), 0.0)


async def test_a_change_is_rendered_in_its_own_turn_and_a_burst_after_it_coalesced() -> None:
    boards = Latest(Board(BoardRules(site="favrskov")))
    views = ViewPublisher(boards, FakeClock(), min_interval_s=0.2)
    feeds = [views.models.value.feed]
    async with beside(views.run(), "views"):
        await asyncio.sleep(0)  # run() subscribes
        boards.publish(connected(boards.value, True))
        assert views.renders == 1  # no await in between: rendered as the board was published
        feeds.append(json.loads(views.deltas.value)["feed"])  # the delta says so
        for connection in (False, True, False):  # within the interval: left for run()
            boards.publish(connected(boards.value, connection))
        assert views.renders == 1
        _, body = await asyncio.wait_for(views.deltas.wait_newer(views.deltas.version), 2)
        assert views.renders == 2  # the three, once
        feeds.append(json.loads(body)["feed"])
    assert feeds[0] == feeds[2] != feeds[1]  # disconnected, connected, disconnected again


def _agent(number: int, reason: str = "Frokost") -> AgentUpdate:
    state = AgentState(
        v=1, agent=f"a{number}", site="favrskov", state="paused", reason=reason,
        ts=datetime.now(UTC), queues=("borger",),
    )  # fmt: skip
    return AgentUpdate(f"a{number}", state)


def _live(board: Board, clock: SystemClock) -> Board:
    board = fold(board, Connection(True), clock.monotonic())
    return fold(board, FeedStatus(True), clock.monotonic())


async def test_the_keepalive_counts_from_the_last_message_sent_not_the_last_board() -> None:
    """A phone system resending its queues unchanged changes no page: the pages still
    hear from the appliance within the keepalive, or they would take it for lost."""
    clock = SystemClock()
    boards = Latest(_live(Board(BoardRules(site="favrskov")), clock))
    views = ViewPublisher(boards, clock, keepalive_s=0.4)
    queue = QueueState(v=1, queue="borger", ts=datetime.now(UTC), waiting=0, longest_wait_s=0)
    async with beside(views.run(), "views"):
        await asyncio.sleep(0)
        boards.publish(fold(boards.value, QueueUpdate("borger", queue), clock.monotonic()))
        version = views.deltas.version
        async with asyncio.timeout(2):
            while views.deltas.version == version:  # the same queue again and again
                boards.publish(fold(boards.value, QueueUpdate("borger", queue), clock.monotonic()))
                await asyncio.sleep(0.05)
        assert json.loads(views.deltas.value).keys() == {"type", "n", "generated_at"}


async def test_a_deadline_is_kept_while_agents_keep_the_board_busy() -> None:
    """A ticker message expires while agents' messages keep coming (none of which looks
    at the ticker): it is gone from the pages and the displays all the same."""
    clock = SystemClock()
    board = _live(Board(BoardRules(site="favrskov")), clock)
    expires = datetime.now(UTC) + timedelta(seconds=0.5)
    message = TickerMessage(v=1, text="Møde kl. 21", expires=expires)
    boards = Latest(fold(board, TickerUpdate("all", message), clock.monotonic()))
    # Steps a second apart: the expiry falls while a step waits its turn.
    views = ViewPublisher(boards, clock, min_interval_s=1.0)
    assert [m.text for m in views.models.value.ticker] == ["Møde kl. 21"]
    async with beside(views.run(), "views"):
        await asyncio.sleep(0)
        async with asyncio.timeout(4):
            number = 0
            while views.models.value.ticker:
                number += 1
                boards.publish(
                    fold(boards.value, _agent(number % 3, f"p{number}"), clock.monotonic())
                )
                await asyncio.sleep(0.03)
        assert datetime.now(UTC) >= expires


async def test_a_snapshot_steps_what_was_coalesced_first() -> None:
    """An agent who comes and goes between two steps: a page that joined meanwhile must
    not keep them (the stream, not having seen them, would never say they went)."""
    clock = SystemClock()
    boards = Latest(_live(Board(BoardRules(site="favrskov")), clock))
    views = ViewPublisher(boards, clock, min_interval_s=0.3)
    sent: list[bytes] = []
    async with beside(views.run(), "views"):
        await asyncio.sleep(0)
        boards.publish(fold(boards.value, _agent(1), clock.monotonic()))  # stepped at once
        boards.publish(fold(boards.value, _agent(2), clock.monotonic()))  # coalesced
        snapshot = msgspec.json.decode(views.snapshot(), type=Snapshot)
        with views.deltas.subscribed(sent.append):
            boards.publish(fold(boards.value, AgentUpdate("a2", None), clock.monotonic()))
            await asyncio.wait_for(views.deltas.wait_newer(views.deltas.version), 2)
    page = snapshot.board
    for body in sent:
        delta = msgspec.json.decode(body, type=Delta)
        assert delta.n == snapshot.n + 1 + sent.index(body)
        page = apply_delta(page, delta)
    assert [agent.agent for agent in page.agents] == ["a1"]
