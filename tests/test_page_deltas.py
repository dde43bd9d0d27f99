"""The page and the stream: deltas change the page in place (no card or row made again),
a page that misses one asks for the board again, and an idle page runs nothing."""

from __future__ import annotations

import msgspec

from tests.support.boards import board, board_server
from tests.support.chromium import chromium_page
from wallboard.view import BoardView

WAITING = "document.querySelector('.queue[data-queue=q0] .figure.waiting .value').textContent"
# Elements made since the watch began (rows moved are not made; nor is text replaced).
WATCH = """
window.__made = [];
const known = new WeakSet(document.querySelectorAll('#main *'));
new MutationObserver((changes) => {
  for (const change of changes) {
    for (const node of change.addedNodes) {
      if (node.nodeType === 1 && !known.has(node)) window.__made.push(node.className);
    }
  }
}).observe(document.getElementById('main'), { subtree: true, childList: true });
window.__cards = [...document.querySelectorAll('.queue')];
window.__rows = new Set(document.querySelectorAll('.agent'));
"""


def changed(view: BoardView, waiting: int, state: str) -> BoardView:
    """The same board, a queue's count and an agent's state changed."""
    queues = [msgspec.structs.replace(view.queues[0], waiting=waiting), *view.queues[1:]]
    agent = msgspec.structs.replace(view.agents[1], state=state, reason=None)  # type: ignore[arg-type]
    return msgspec.structs.replace(
        view, queues=queues, agents=[view.agents[0], agent, *view.agents[2:]]
    )


async def test_deltas_change_the_cards_and_rows_in_place() -> None:
    first = board(3, 8)
    async with board_server(first) as server, chromium_page() as page:
        await page.goto(server.url)
        await page.wait_for(f"{WAITING} === '3'")
        await page.settle()
        await page.evaluate(WATCH)
        view = first
        for waiting, state in ((4, "available"), (9, "paused"), (0, "busy")):
            view = changed(view, waiting, state)
            server.show(view)
            await page.wait_for(f"{WAITING} === '{waiting}'")
            await page.wait_for(
                f"document.querySelector('.agent[data-agent=a1]').classList.contains('{state}')"
            )
        assert await page.evaluate("window.__made") == []  # no element made again
        assert await page.evaluate(
            "[...document.querySelectorAll('.queue')].every((c, i) => c === window.__cards[i])"
        )
        assert await page.evaluate(
            "[...document.querySelectorAll('.agent')].every((row) => window.__rows.has(row))"
        )
        assert await page.evaluate("window.wallboard.number()") == server.number
        assert page.exceptions == []


async def test_a_page_that_misses_a_delta_asks_for_the_board_again() -> None:
    first = board(2, 4)
    async with board_server(first) as server, chromium_page() as page:
        await page.goto(server.url)
        await page.wait_for(f"{WAITING} === '3'")
        assert server.fanout is not None
        snapshots = server.fanout.snapshots
        server.number += 1  # a delta the page never gets
        server.show(changed(first, 17, "paused"))
        await page.wait_for(f"{WAITING} === '17'")  # from the whole board it asked for
        assert server.fanout.snapshots == snapshots + 1
        assert await page.evaluate("window.wallboard.number()") == server.number
        server.show(changed(first, 18, "busy"))  # and deltas again after it
        await page.wait_for(f"{WAITING} === '18'")
        assert server.fanout.snapshots == snapshots + 1
        assert page.exceptions == []


async def test_an_idle_page_runs_nothing() -> None:
    """Nobody waiting and nobody on duty: no animation, no time ticking; with agents on
    duty their times tick, by one timer, and still nothing animates."""
    quiet = msgspec.structs.replace(
        board(2, 0, ticker="Husk pausen"),
        queues=[
            msgspec.structs.replace(q, waiting=0, longest_wait_s=0, level="ok")
            for q in board(2, 0).queues
        ],
    )
    async with board_server(quiet) as server, chromium_page() as page:
        await page.goto(server.url)
        await page.wait_for("document.getElementById('ticker-text').textContent === 'Husk pausen'")
        await page.settle()
        assert await page.evaluate("document.getAnimations().length") == 0
        assert await page.evaluate("window.wallboard.ticking()") == 0
        server.show(msgspec.structs.replace(quiet, agents=board(2, 5).agents))
        await page.wait_for("window.wallboard.ticking() === 5")
        assert await page.evaluate("document.getAnimations().length") == 0
        assert page.exceptions == []


async def test_queues_that_come_and_go_are_laid_out_as_a_fresh_page_would() -> None:
    """The same agents, more queues: the grid of cards is chosen again (as on a load)."""
    columns = "document.getElementById('queues').style.getPropertyValue('--columns')"
    async with board_server(board(1, 4)) as server, chromium_page() as page:
        await page.goto(server.url)
        await page.wait_for("document.querySelectorAll('.queue').length === 1")
        for queues in (4, 6, 2):
            view = msgspec.structs.replace(board(queues, 4), agents=board(1, 4).agents)
            server.show(view)
            await page.wait_for(f"document.querySelectorAll('.queue').length === {queues}")
            await page.settle()
            after_delta = await page.evaluate(columns)
            await page.goto(server.url)  # the same board, loaded afresh
            await page.wait_for(f"document.querySelectorAll('.queue').length === {queues}")
            await page.settle()
            assert after_delta == await page.evaluate(columns), queues
        assert page.exceptions == []
