"""A desk's OLED and LED follow what changes on the board within a second, as the web does.

Each case changes the board the way the real world would (a message, a broker that goes,
the clock passing closing time) and reads the desk back through `GET /api/desks`, as a
technician would, and its LED from gpiozero's mock pins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory
from luma.core.device import dummy

from appliance.core.config import OledConfig
from appliance.core.contract import Topics
from appliance.programs.service import Appliance
from tests.conftest import make_config, running, until
from tests.support import payloads
from tests.support.mosquitto import Mosquitto
from tests.test_desks import LED, desk_config, press

FOLLOW_S = 1.0  # what "within a second" means here


def oled(config: OledConfig) -> Any:
    return dummy(width=config.width, height=config.height, mode="1")


class OffsetClock:
    """The real clocks, with the wall clock set to a chosen moment at start: real timers
    fire, so the appliance passes closing time by itself."""

    def __init__(self, start: datetime) -> None:
        self._mono0 = time.monotonic()
        self._start = start

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._mono0)


class Desk:
    """The desk as seen from outside: its report in /api/desks and its LED pin."""

    def __init__(self, app: Appliance, http: aiohttp.ClientSession, pins: MockFactory) -> None:
        self.app, self.http, self.pins = app, http, pins
        self.report: dict[str, Any] = {}

    async def read(self) -> dict[str, Any]:
        async with self.http.get("/api/desks") as reply:
            assert reply.status == 200
            (self.report,) = (await reply.json())["desks"]
        return self.report

    @property
    def lines(self) -> list[str]:
        return list(self.report["screen"]["lines"])

    async def shows(self, *, top: str = "", middle: str = "", bottom: str = "", light: str = "",
                    within: float = FOLLOW_S) -> None:  # fmt: skip
        """Wait at most `within` for the screen's lines and the LED to read so."""

        async def matches() -> bool:
            report = await self.read()
            lines = report["screen"]["lines"] or ["", "", ""]
            return (
                lines[0].startswith(top)
                and middle in lines[1]
                and bottom in lines[2]
                and (not light or (report["light"] == light and self.led_matches(light)))
            )

        deadline = time.monotonic() + within
        while not await matches():
            if time.monotonic() > deadline:
                raise AssertionError(f"after {within} s the desk shows {self.report}")
            await asyncio.sleep(0.02)  # polling an HTTP endpoint under a deadline

    def led_matches(self, light: str) -> bool:
        pin = self.pins.pin(LED)
        if light == "green":
            return bool(pin.state)
        if light in ("red", "amber", "off"):
            return not pin.state  # a single-colour LED: lit only when available
        return True  # blinking patterns: the pin toggles


@pytest.fixture
async def desk(
    broker: Mosquitto, topics: Topics, pins: MockFactory, request: pytest.FixtureRequest
) -> AsyncIterator[Desk]:
    mqtt = {"stale_after_s": 3.0} | getattr(request, "param", {})
    config = make_config(broker.url, topics, extra=desk_config('agent = "a1"'), **mqtt)
    async with (
        running(Appliance(config, pin_factory=pins, oled_factory=oled)) as app,
        aiohttp.ClientSession(f"http://127.0.0.1:{app.web_port}") as http,
    ):
        yield Desk(app, http, pins)


async def live_feed(publisher: aiomqtt.Client, topics: Topics, **queue: Any) -> None:
    """The phone system's state, retained: an appliance still subscribing gets it too."""
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(topics.queue("borger"), payloads.queue(**queue), qos=1, retain=True)
    agent = payloads.agent("a1", "available")
    await publisher.publish(topics.agent("a1"), agent, qos=1, retain=True)


async def test_first_data_waiting_and_longest_wait(
    desk: Desk, publisher: aiomqtt.Client, topics: Topics
) -> None:
    await desk.shows(top="INGEN DATA", middle="Ingen agent", within=5)
    await live_feed(publisher, topics)
    await desk.shows(top="0 venter –", middle="LEDIG", light="green")
    await publisher.publish(topics.queue("borger"), payloads.queue(waiting=3, longest_wait_s=95))
    await desk.shows(top="3 venter 1:3")
    await publisher.publish(topics.queue("borger"), payloads.queue(waiting=4, longest_wait_s=400))
    await desk.shows(top="4 venter 6:4")
    first = desk.lines[0]
    deadline = time.monotonic() + 1 + FOLLOW_S
    while desk.lines[0] == first and time.monotonic() < deadline:  # the wait ticks by itself
        await asyncio.sleep(0.05)  # polling an HTTP endpoint under a deadline
        await desk.read()
    assert desk.lines[0] != first


async def test_stale_offline_and_back(
    desk: Desk, publisher: aiomqtt.Client, topics: Topics
) -> None:
    await live_feed(publisher, topics, waiting=2)
    await desk.shows(top="2 venter")
    await desk.shows(top="INGEN DATA", within=3.0 + FOLLOW_S)  # stale_after_s = 3, no news
    await live_feed(publisher, topics, waiting=1)
    await desk.shows(top="1 venter")
    await publisher.publish(topics.system_status, b"offline", qos=1)
    await desk.shows(top="INGEN DATA")
    await publisher.publish(topics.system_status, b"online", qos=1)
    await desk.shows(top="1 venter")


async def test_the_agent_and_the_desks_own_request(
    desk: Desk, publisher: aiomqtt.Client, topics: Topics
) -> None:
    await live_feed(publisher, topics)
    await desk.shows(middle="LEDIG", light="green")
    paused = payloads.agent("a1", "paused", reason="Frokost")
    await publisher.publish(topics.agent("a1"), paused, qos=1)
    await desk.shows(middle="PAUSE Frokost", light="red")
    press(desk.pins)  # asks for available: pending until the phone system says so
    await desk.shows(bottom="Venter på svar", light="pending")
    assert desk.report["pending"]["state"] == "available"
    await publisher.publish(topics.agent("a1"), payloads.agent("a1", "available"), qos=1)
    await desk.shows(middle="LEDIG", light="green")
    assert desk.report["pending"] is None


@pytest.mark.parametrize("desk", [{"stale_after_s": 90.0}], indirect=True)  # no staleness
async def test_nothing_is_redrawn_when_nothing_changes(
    desk: Desk, publisher: aiomqtt.Client, topics: Topics
) -> None:
    await live_feed(publisher, topics)  # nobody waiting: nothing ticks
    await desk.shows(top="0 venter", middle="LEDIG", light="green")
    # Two things change the picture on their own: the clock's minute, and the pixel shift
    # against burn-in (every oled_shift_every_s of the monotonic clock). Not within 15 s
    # (a loaded machine may take a while over the steps below), and not within 2 s after
    # either: the frame for a minute or a shift that has just begun may not be drawn yet.
    shift_every = desk.app.config.desk_settings.oled_shift_every_s

    def quiet() -> bool:
        into_shift = time.monotonic() % shift_every
        return 2 <= datetime.now(UTC).second < 45 and 2 <= into_shift < shift_every - 15

    await until(quiet, timeout=40, what="fifteen quiet seconds")
    frames = (await desk.read())["screen"]["frames"]
    toggles = len(desk.pins.pin(LED).states)
    await publisher.publish(topics.queue("erhverv"), payloads.queue("erhverv"), qos=1)
    await until(lambda: "erhverv" in desk.app.hub.board.value.queues, what="a board change")
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # sampling over an interval: nothing may happen
        assert (await desk.read())["screen"]["frames"] == frames, desk.report["screen"]
        await asyncio.sleep(0.1)
    assert (await desk.read())["screen"]["frames"] == frames
    assert len(desk.pins.pin(LED).states) == toggles


async def test_disconnected_and_reconnected(
    own_broker: Mosquitto, topics: Topics, pins: MockFactory
) -> None:
    config = make_config(own_broker.url, topics, extra=desk_config('agent = "a1"'))
    async with (
        aiomqtt.Client("127.0.0.1", own_broker.port) as publisher,
        running(Appliance(config, pin_factory=pins, oled_factory=oled)) as app,
        aiohttp.ClientSession(f"http://127.0.0.1:{app.web_port}") as http,
    ):
        desk = Desk(app, http, pins)
        for message in (
            (topics.system_status, b"online"),
            (
                topics.queue("borger"),
                payloads.queue(waiting=2),
            ),
        ):
            await publisher.publish(*message, qos=1, retain=True)
        await desk.shows(top="2 venter", within=5)
        own_broker.stop()
        await until(lambda: not app.hub.board.value.connected, what="the appliance to notice")
        await desk.shows(top="INGEN DATA")
    own_broker.start()


# Wednesday 2 December 2026 in Copenhagen (UTC+1): open 18:00-19:00 and again from 19:01.
HOURS = '[hours]\nholidays = ""\nweekly = { wed = ["18:00-19:00", "19:01-22:00"] }\n'


@pytest.mark.parametrize(
    ("start", "before", "after"),
    [
        (datetime(2026, 12, 2, 17, 59, 58, tzinfo=UTC), "1 venter", "LUKKET"),  # 18:59:58
        (datetime(2026, 12, 2, 18, 0, 58, tzinfo=UTC), "LUKKET", "1 venter"),  # 19:00:58
    ],
    ids=["closing", "opening"],
)
async def test_closing_and_opening(  # noqa: PLR0917 - fixtures and parameters
    broker: Mosquitto, topics: Topics, pins: MockFactory, start: datetime, before: str, after: str
) -> None:
    text = desk_config('agent = "a1"')
    config = make_config(broker.url, topics, extra=HOURS + text[text.index("[desk_settings]") :])
    app = Appliance(config, pin_factory=pins, oled_factory=oled, clock=OffsetClock(start))
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as publisher,
        running(app),
        aiohttp.ClientSession(f"http://127.0.0.1:{app.web_port}") as http,
    ):
        desk = Desk(app, http, pins)
        await live_feed(publisher, topics, waiting=1)
        await desk.shows(top=before)
        if before == "LUKKET":
            assert desk.lines[-1] == "åbner ons 19.01"
        await desk.shows(top=after, within=2 + FOLLOW_S)
