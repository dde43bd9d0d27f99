"""Until the appliance's clock is synchronised (a Pi has no battery clock), the displays
say it is not set rather than show a wrong day; once NTP has set it, they show it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from appliance.core.contract import Topics
from appliance.drivers.timesync import clock_synchronised
from appliance.programs.service import Appliance
from tests.conftest import make_config, running, until
from tests.support.chromium import CHROMIUM, chromium_page
from tests.support.mosquitto import Mosquitto
from tests.test_desk_follow import oled
from tests.test_desks import desk_config


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="chromium is not installed")
async def test_the_displays_say_the_clock_is_not_set_until_it_is(
    broker: Mosquitto, topics: Topics, pins: MockFactory
) -> None:
    synchronised = [False]
    config = make_config(broker.url, topics, extra=desk_config('agent = "a1"'))
    appliance = Appliance(config, pin_factory=pins, oled_factory=oled,
                          clock_synchronised=lambda: synchronised[0])  # fmt: skip
    async with running(appliance) as app, chromium_page(1280, 720) as page:
        await until(lambda: app.views.models.value.clock_sure is False, what="the clock unsure")
        await page.goto(f"http://127.0.0.1:{app.web_port}/")
        await page.wait_for("document.getElementById('date').textContent !== ''")
        assert await page.evaluate("document.getElementById('clock').textContent") == "--.--"
        assert await page.evaluate("document.getElementById('date').textContent") == (
            "Uret er ikke indstillet endnu"
        )
        screen = app.desk_displays.screens["desk-1"]
        await until(lambda: screen.value.clock == "--.--", what="the desk's clock unsure")

        synchronised[0] = True  # timesyncd has set it
        await page.wait_for(
            "/^\\d\\d\\.\\d\\d$/.test(document.getElementById('clock').textContent)", timeout_s=15
        )
        assert "Uret" not in await page.evaluate("document.getElementById('date').textContent")
        await until(lambda: screen.value.clock != "--.--", timeout=15, what="the desk's clock")
        assert page.exceptions == []


def test_timesyncd_says_when_it_has_set_the_clock(tmp_path: Path) -> None:
    timesync = tmp_path / "timesync"
    assert clock_synchronised(timesync) is None  # no timesyncd here: nothing is known
    timesync.mkdir()
    assert clock_synchronised(timesync) is False
    (timesync / "synchronized").touch()
    assert clock_synchronised(timesync) is True
