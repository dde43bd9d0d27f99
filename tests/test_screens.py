"""The wallboard on every screen a centre has, checked from what Chromium renders.

Each screen size × 1, 3, 4 and 6 queues × 4, 12 and 30 agents on duty, with a long
ticker: no text clipped by its box, an ancestor or the screen's edge, nothing overlapping,
no scrollbars, every agent shown within 30 s (the pages turned by the test, not waited
for), and the waiting number and the longest wait the largest things on the screen. One
browser and one page for the whole matrix: the board and the viewport change under it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.boards import board, board_server
from tests.support.chromium import CHROMIUM, Page, chromium_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed"),
]

CHECK = (Path(__file__).parent / "support" / "layout_check.js").read_text(encoding="utf-8")


@dataclass(frozen=True)
class Screen:
    width: int
    height: int
    scale: float = 1

    def __str__(self) -> str:
        return f"{self.width}×{self.height}" + (f"@{self.scale:g}x" if self.scale != 1 else "")


# A 4K TV at 200 % is a 1920×1080 page drawn with four pixels for one.
SCREENS = (
    Screen(1280, 720),
    Screen(1366, 768),
    Screen(1920, 1080),
    Screen(2560, 1440),
    Screen(3840, 2160),
    Screen(1920, 1080, 2),
    Screen(1080, 1920),
)
QUEUES = (1, 3, 4, 6)
AGENTS = (4, 12, 30)
PAGE_CYCLE_S = 30
NAMES = (
    "[...document.querySelectorAll('.agent .name')]"
    ".map(n => [n.textContent, n.dataset.full || n.textContent])"
)


def short_names(full: str) -> tuple[str, ...]:
    """The ways people shorten a name: "Anne-Mette K.", then "Anne-Mette"."""
    words = full.split()
    return (f"{words[0]} {words[-1][0]}.", words[0]) if len(words) > 1 else ()


def digits_needed(screen: Screen, queues: int) -> float:
    """A digit's ink at least 8 % of the screen's smaller side with up to 3 queues (on a
    landscape screen: its height), and still legible (4.5 %) with 6."""
    return min(screen.width, screen.height) * (0.08 if queues <= 3 else 0.045)


def figure_problems(result: dict[str, Any], screen: Screen, queues: int) -> list[str]:
    found = []
    needed = digits_needed(screen, queues)
    if min(result["digits"]) < needed:
        found.append(f"digits {min(result['digits']):.0f} px high, need {needed:.0f}")
    if result["smallestFigure"] <= result["largestOther"]:
        found.append(
            f"a figure at {result['smallestFigure']:.0f} px is not the largest"
            f" text (another is {result['largestOther']:.0f} px)"
        )
    return found


async def problems_on(
    page: Page, screen: Screen, queues: int, agents: int, layout: str = "auto"
) -> list[str]:
    case = f"{screen}, {queues} queues, {agents} agents"
    found: list[str] = []
    seen: set[str] = set()
    if layout == "queues":  # no agents shown, no pages to turn
        agents, pages, period_ms = 0, 1, 0
    else:
        pages = int(await page.evaluate("document.getElementById('agents-panel').dataset.pages"))
        period_ms = int(
            await page.evaluate("document.getElementById('agents-panel').dataset.pageMs")
        )
    if pages * period_ms > PAGE_CYCLE_S * 1000:
        found.append(f"{case}: {pages} pages of {period_ms} ms take longer than {PAGE_CYCLE_S} s")
    for number in range(pages):
        result: dict[str, Any] = await page.evaluate(CHECK)
        found += [f"{case}, page {number + 1}: {problem}" for problem in result["problems"]]
        seen |= set(
            await page.evaluate(
                "[...document.querySelectorAll('[data-agent]')].map(a => a.dataset.agent)"
            )
        )
        if number == 0 and layout != "agents":
            found += [f"{case}: {problem}" for problem in figure_problems(result, screen, queues)]
        if pages > 1:
            if number == 0:
                mark = await page.evaluate("document.getElementById('agents-page').textContent")
                if mark != f"1/{pages}":
                    found.append(f"{case}: the page mark says {mark!r}")
            await page.evaluate("wallboard.turnAgentsPage()")
            await page.settle()
        for shown, full in await page.evaluate(NAMES):
            if shown not in (full, *short_names(full)):
                found.append(f"{case}: {full!r} shown as {shown!r}")
    missing = {f"a{index}" for index in range(agents)} - seen
    if missing:
        found.append(f"{case}: agents never shown: {sorted(missing)}")
    return found


async def test_every_screen_every_board() -> None:
    found: list[str] = []
    async with board_server(board(1, 4)) as server, chromium_page() as page:
        await page.goto(server.url)
        for queues in QUEUES:
            for agents in AGENTS:
                server.show(board(queues, agents))
                await page.wait_for(
                    f"document.querySelectorAll('.queue').length === {queues} &&"
                    f" document.getElementById('agents-title').textContent.includes('({agents})')"
                )
                for screen in SCREENS:
                    await page.viewport(screen.width, screen.height, screen.scale)
                    found += await problems_on(page, screen, queues, agents)
        # A banner takes room from a board already shown: the page lays itself out again.
        await page.viewport(1366, 768)
        server.show(board(3, 30, feed="stale"))
        await page.wait_for("!document.getElementById('banner').hidden")
        await page.settle()
        # (the digits' height is for the board in normal times: checked above)
        problems = await problems_on(page, Screen(1366, 768), 3, 30)
        found += [f"with a banner: {problem}" for problem in problems if "digits" not in problem]
        assert page.exceptions == []
    assert found == [], "\n".join(found)


@pytest.mark.parametrize("how", ["url", "config"])
async def test_a_room_of_queues_and_a_room_of_agents(how: str) -> None:
    """`/?layout=queues` and `/?layout=agents` (or `[web] layout`): two TVs, one appliance."""
    found: list[str] = []
    for layout in ("queues", "agents"):
        configured = layout if how == "config" else "auto"
        query = f"?layout={layout}" if how == "url" else ""
        async with board_server(board(4, 30), configured) as server, chromium_page() as page:
            await page.goto(server.url + query)
            await page.wait_for("document.querySelectorAll('.agent, .queue').length > 0")
            assert await page.evaluate("document.body.dataset.layout") == layout
            hidden = ".agents" if layout == "queues" else ".queues-area"
            assert (
                await page.evaluate(f"getComputedStyle(document.querySelector('{hidden}')).display")
                == "none"
            )
            for queues, agents in ((4, 30), (6, 12), (1, 4)):
                server.show(board(queues, agents))
                await page.wait_for(
                    f"document.getElementById('agents-title').textContent.includes('({agents})')"
                )
                for screen in (Screen(1280, 720), Screen(1920, 1080), Screen(1080, 1920)):
                    await page.viewport(screen.width, screen.height)
                    problems = await problems_on(page, screen, queues, agents, layout)
                    found += [f"layout={layout}: {problem}" for problem in problems]
            assert page.exceptions == []
    assert found == [], "\n".join(found)
