"""Broker failover: `[mqtt] url` as a list, against two real Mosquittos bridged as shipped.

The stand-in broker runs the bridge part of firmware_config/mosquitto-standby.conf; the
phone system (the simulator) is on the stand-in, the appliance on the central broker
first. The central broker is killed: the board is live again from the stand-in within
15 s, and a press made meanwhile reaches the phone system. The central broker returns:
the appliance goes back to it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory

from appliance.core.config import parse_config
from appliance.core.contract import Topics
from appliance.programs.service import Appliance
from tests.conftest import make_config, running, until
from tests.support.mosquitto import Mosquitto
from tests.test_desks import desk_config, fake_oled, phone_system, press

STANDBY = Path(__file__).parents[1] / "firmware_config" / "mosquitto-standby.conf"
MARKER = "# --- the bridge to the central broker"
# TLS and the bridge's login are the production broker's; these brokers are plain.
PRODUCTION_ONLY = ("bridge_cafile", "remote_username", "remote_password")


def standby_bridge(central: Mosquitto, prefix: str) -> str:
    """The shipped bridge section, pointed at `central` and the test's topic prefix."""
    section = STANDBY.read_text().split(MARKER, 1)[1].split("\n", 1)[1]
    lines = []
    for line in section.splitlines():
        if line.startswith("address "):
            lines.append(f"address 127.0.0.1:{central.port}")
        elif line.startswith("topic hotline/v1/#"):
            lines.append(line.replace("hotline/v1", prefix))
        elif not line.startswith(PRODUCTION_ONLY):
            lines.append(line)
    return "\n".join(lines) + "\n"


@pytest.fixture
async def brokers(tmp_path: Path, topics: Topics) -> AsyncIterator[tuple[Mosquitto, Mosquitto]]:
    central = Mosquitto(tmp_path / "central")
    central.start()
    standby = Mosquitto(tmp_path / "standby", extra_config=standby_bridge(central, topics.prefix))
    standby.start()
    await bridged(central, standby, topics)
    try:
        yield central, standby
    finally:
        standby.stop()
        central.stop()


async def bridged(central: Mosquitto, standby: Mosquitto, topics: Topics) -> None:
    """Until a message published on the stand-in arrives on the central broker."""
    probe = f"{topics.prefix}/test/bridge"
    async with (
        aiomqtt.Client("127.0.0.1", central.port) as listener,
        aiomqtt.Client("127.0.0.1", standby.port) as sender,
    ):
        await listener.subscribe(probe, qos=1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await sender.publish(probe, b"ping", qos=1)
            try:
                async with asyncio.timeout(0.5):
                    async for _ in listener.messages:
                        return
            except TimeoutError:
                continue
    raise AssertionError("the stand-in never bridged to the central broker")


def shown(app: Appliance) -> str | None:
    """The agent's state as the appliance has it."""
    entry = app.hub.board.value.agents.get("a2101")
    return None if entry is None else entry.state.state


async def health(app: Appliance) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{app.web_port}/healthz") as reply,
    ):
        body: dict[str, Any] = await reply.json()
    return body["health"]


def test_a_list_of_brokers_is_read_and_each_checked_by_its_place(topics: Topics) -> None:
    config = make_config("mqtt://a:1883", topics)
    assert config.mqtt.urls == ("mqtt://a:1883",)
    text = '[site]\nid = "x"\n[mqtt]\nurl = ["mqtt://a", "mqtts://b:8884"]\n'
    assert parse_config(text).mqtt.urls == ("mqtt://a", "mqtts://b:8884")
    with pytest.raises(Exception, match=r"mqtt\.url\[1\]: expected mqtt://host"):
        parse_config('[site]\nid = "x"\n[mqtt]\nurl = ["mqtt://a", "http://b"]\n')
    with pytest.raises(Exception, match=r"mqtt\.url: give at least one broker"):
        parse_config('[site]\nid = "x"\n[mqtt]\nurl = []\n')


async def test_the_central_broker_killed_the_stand_in_takes_over_and_no_press_is_lost(
    brokers: tuple[Mosquitto, Mosquitto], topics: Topics, pins: MockFactory
) -> None:
    central, standby = brokers
    config = make_config(
        central.url,
        topics,
        extra=desk_config('agent = "a2101"', oled=False),
        url=[central.url, standby.url],
        failback_every_s=2.0,
    )
    async with (
        phone_system(standby, topics) as simulator,
        running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app,
    ):
        agent = simulator.center.agents["a2101"]
        await until(lambda: app.pins["desk-1"].light in ("green", "red"), what="first light")
        assert (await health(app))["broker"] == central.url
        before = agent.state
        press(pins)
        after = "paused" if before == "available" else "available"
        await until(lambda: agent.state == after, what="a press through the bridge")
        await until(lambda: shown(app) == after, what="its answer back through the bridge")

        assert central.process is not None
        central.process.kill()  # no goodbye: the machine is gone
        central.process.wait()
        killed = time.monotonic()
        press(pins)  # while it moves to the stand-in (at once: a poll may miss the gap)
        await until(
            lambda: app.hub.board.value.connected and app.views.models.value.feed == "live",
            timeout=15,
            what="the board live again from the stand-in",
        )
        assert time.monotonic() - killed < 15
        state = await health(app)
        assert (state["broker"], state["broker_stand_in"]) == (standby.url, True)
        await until(lambda: agent.state == before, timeout=15, what="the press made meanwhile")
        await until(lambda: shown(app) == before, what="its answer on the stand-in")

        central.start()  # back: the appliance returns to it by itself
        await until(
            lambda: app.link.broker == central.url and app.link.subscribed and shown(app) == before,
            timeout=15,
            what="the appliance back on the central broker",
        )
        assert (await health(app))["broker_stand_in"] is False
        press(pins)  # and presses go through the central broker again
        await until(lambda: agent.state == after, timeout=15, what="a press after failback")
