"""Screenshot of the demo's wallboard at 1920×1080, for docs/ and for looking at it.

python -m tests.support.screenshot docs/wallboard.png [--language en] [--message TEXT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from appliance.core.contract import TickerMessage, Topics, encode
from appliance.programs.demo import Demo
from tests.support.chromium import chromium_page
from tests.support.mosquitto import free_port
from wallboard.sign.picture import sign_png


async def capture(
    path: Path, language: str, message: str | None, sign: Path | None, demo_page: Path | None
) -> None:
    demo = Demo(broker_port=free_port(), listen=f"127.0.0.1:{free_port()}", language=language)
    running = asyncio.create_task(demo.run(announce=False))
    try:
        await demo.appliance.ready.wait()
        if message:
            ticker = TickerMessage(v=1, text=message, level="info")
            await demo.appliance.link.wait_connected()
            await demo.appliance.link.publish(Topics().messages("all"), encode(ticker), retain=True)
        async with chromium_page() as page:
            await page.goto(demo.wallboard_url)
            await page.wait_for("document.querySelectorAll('.agent').length > 3", 20)
            # A picture with callers waiting tells more; the simulator brings some soon.
            with contextlib.suppress(AssertionError):
                await page.wait_for(
                    "[...document.querySelectorAll('.figure.waiting .value')]"
                    ".some(v => v.textContent !== '0')",
                    60,
                )
            await asyncio.sleep(2)  # not a wait for state: lets the ticker scroll into view
            await page.screenshot(path)
            if sign is not None:
                screens = demo.sign.shown.value
                sign.write_bytes(sign_png(screens[0] if screens else None))
            if demo_page is not None:
                await page.goto(demo.wallboard_url + "demo")
                await page.wait_for("document.getElementById('sign').naturalWidth > 0", 20)
                await asyncio.sleep(1.5)  # the framed wallboard gets its first board
                await page.screenshot(demo_page)
            if page.exceptions:
                raise SystemExit(f"page raised: {page.exceptions}")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--language", choices=("da", "en"), default="da")
    parser.add_argument("--message", default=None)
    parser.add_argument("--sign", type=Path, default=None, help="also save the LED sign here")
    parser.add_argument("--demo-page", type=Path, default=None, help="and the demo page here")
    args = parser.parse_args()
    asyncio.run(capture(args.path, args.language, args.message, args.sign, args.demo_page))


if __name__ == "__main__":
    main()
