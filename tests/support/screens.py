"""Small screenshots of the wallboard on the screens a centre has, for docs/screens/.

    python -m tests.support.screens docs/screens      # or: make screens

The same boards the screen test checks (tests/test_screens.py), one browser for all.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from tests.support.boards import board, board_server
from tests.support.chromium import chromium_page

# (file name, width, height, queues, agents, layout)
CASES = (
    ("1280x720-3-queues-12-agents", 1280, 720, 3, 12, "auto"),
    ("1366x768-1-queue-4-agents", 1366, 768, 1, 4, "auto"),
    ("1920x1080-4-queues-12-agents", 1920, 1080, 4, 12, "auto"),
    ("1920x1080-6-queues-30-agents", 1920, 1080, 6, 30, "auto"),
    ("2560x1440-3-queues-30-agents", 2560, 1440, 3, 30, "auto"),
    ("3840x2160-3-queues-12-agents", 3840, 2160, 3, 12, "auto"),
    ("1080x1920-portrait-3-queues-30-agents", 1080, 1920, 3, 30, "auto"),
    ("1080x1920-portrait-6-queues-12-agents", 1080, 1920, 6, 12, "auto"),
    ("1920x1080-layout-queues-6", 1920, 1080, 6, 30, "queues"),
    ("1920x1080-layout-agents-30", 1920, 1080, 4, 30, "agents"),
)
THUMBNAIL_WIDTH = 640


async def capture(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    async with board_server(board(1, 4)) as server, chromium_page() as page:
        for name, width, height, queues, agents, layout in CASES:
            await page.goto(f"{server.url}?layout={layout}")
            server.show(board(queues, agents))
            await page.viewport(width, height)
            await page.wait_for(
                f"document.getElementById('agents-title').textContent.includes('({agents})')"
            )
            await page.settle()
            # Portrait pictures as tall as the landscape ones are wide.
            across = THUMBNAIL_WIDTH if width >= height else THUMBNAIL_WIDTH * width // height
            await page.screenshot(folder / f"{name}.png", width=across)
        if page.exceptions:
            raise SystemExit(f"page raised: {page.exceptions}")
    print(f"wrote {len(CASES)} screenshots to {folder}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    asyncio.run(capture(parser.parse_args().folder))


if __name__ == "__main__":
    main()
