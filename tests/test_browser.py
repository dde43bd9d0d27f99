"""The wallboard page in real headless Chromium."""

from __future__ import annotations

import shutil

import aiomqtt
import pytest

from appliance.core.contract import Topics
from appliance.programs.service import Appliance
from tests.conftest import board_until, make_config, running
from tests.support import payloads
from tests.support.chromium import CHROMIUM, chromium_page
from tests.support.mosquitto import Mosquitto

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed"),
]

XSS = "<img src=x onerror=alert(1)>"
WAITING = "document.querySelector('.queue[data-queue=borger] .figure.waiting .value')"


async def test_page_follows_the_board_and_shows_names_as_text(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client
) -> None:
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(topics.queue("borger"), payloads.queue(waiting=3), qos=1, retain=True)
    await publisher.publish(topics.agent("a1"), payloads.agent("a1", name=XSS), qos=1, retain=True)
    async with running(Appliance(make_config(broker.url, topics))) as app:
        await board_until(app, lambda b: b["agents"])
        async with chromium_page() as page:
            await page.goto(f"http://127.0.0.1:{app.web_port}/")
            await page.wait_for(f"{WAITING}?.textContent === '3'")
            await publisher.publish(
                topics.queue("borger"), payloads.queue(waiting=7), qos=1, retain=True
            )
            await page.wait_for(f"{WAITING}?.textContent === '7'")

            # Shown whole or shortened ("<img o."), as text either way.
            name = await page.evaluate(
                "(n => n.dataset.full || n.textContent)(document.querySelector('.agent .name'))"
            )
            assert name == XSS
            assert await page.evaluate("document.querySelectorAll('img').length") == 0
            assert page.dialogs == []
            assert page.exceptions == []
            assert await page.evaluate("document.getElementById('feed').textContent") == "LIVE"

            # The phone system goes offline: the page says so and shows no numbers.
            await publisher.publish(topics.system_status, b"offline", qos=1, retain=True)
            await page.wait_for("!document.getElementById('banner').hidden")
            banner = await page.evaluate("document.getElementById('banner').textContent")
            assert "offline" in banner
            assert await page.evaluate(f"{WAITING}.offsetParent") is None  # not shown


async def test_page_says_when_it_loses_the_appliance(broker: Mosquitto, topics: Topics) -> None:
    appliance = Appliance(make_config(broker.url, topics))
    async with chromium_page() as page:
        async with running(appliance) as app:
            await page.goto(f"http://127.0.0.1:{app.web_port}/")
            await page.wait_for("document.getElementById('feed').textContent !== ''")
        await page.wait_for("document.getElementById('feed').className === 'feed lost'")
        banner = await page.evaluate("document.getElementById('banner').textContent")
        assert "afbrudt" in banner


async def test_closed_hotline_page_says_when_it_opens(broker: Mosquitto, topics: Topics) -> None:
    from datetime import datetime, timedelta  # noqa: PLC0415
    from zoneinfo import ZoneInfo  # noqa: PLC0415

    tomorrow = datetime.now(ZoneInfo("Europe/Copenhagen")).date() + timedelta(days=1)
    hours = f'[hours]\nweekly = {{}}\nopen_dates = {{"{tomorrow}" = ["18:30-22:00"]}}\n'
    weekday = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"][
        tomorrow.weekday()
    ]
    config = make_config(broker.url, topics, extra=hours)
    async with running(Appliance(config)) as app, chromium_page() as page:
        await page.goto(f"http://127.0.0.1:{app.web_port}/")
        await page.wait_for(
            "document.getElementById('banner').textContent.includes('Lukket')"
            " || document.getElementById('feed').className === 'feed offline'"
        )
        # Offline (no phone system here) outranks closed; bring the feed up to see "closed".
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.publish(topics.system_status, b"online", qos=1, retain=True)
            await client.publish(topics.queue("borger"), payloads.queue(), qos=1, retain=True)
        text = await page.wait_for(
            "document.getElementById('banner').textContent.startsWith('Lukket') && "
            "document.getElementById('banner').textContent"
        )
        assert text == f"Lukket – åbner {weekday} kl. 18.30"
