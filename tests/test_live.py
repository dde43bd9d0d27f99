"""Board views: a change goes out in the turn that made it; a burst after it is coalesced."""

from __future__ import annotations

import asyncio
import json

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.clock import FakeClock
from appliance.runtime.latest import Latest
from tests.support.tasks import beside
from wallboard.live import ViewPublisher


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
