"""Desks end to end: mock pins, a real Mosquitto, the simulator as the phone system."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory
from luma.oled.device import ssd1306

from appliance.core.config import OledConfig
from appliance.core.contract import Topics
from appliance.drivers.store import Store
from appliance.programs.service import Appliance
from tests.conftest import ALWAYS_OPEN, make_config, running, until
from tests.support import disk as small_disk
from tests.support import payloads
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.simulation import simulating
from tests.test_oled import RecordingSerial
from wallboard.web.limits import GuessLimit

BUTTON, LED = 17, 27


def desk_config(agent: str, expiry: int = 60, oled: bool = True) -> str:
    """One desk on mock pins, with an OLED unless told otherwise."""
    screen = '\noled = "desk-1"\n\n[[oled]]\nname = "desk-1"\n' if oled else "\n"
    return (
        ALWAYS_OPEN
        + f"""
[desk_settings]
request_expiry_s = {expiry}

[[desks]]
id = "desk-1"
{agent}
button = "GPIO{BUTTON}"
led = "GPIO{LED}"
hold_s = 1.0{screen}"""
    )


def fake_oled(config: OledConfig) -> Any:
    return ssd1306(RecordingSerial(), width=config.width, height=config.height)


def press(pins: MockFactory) -> None:
    pins.pin(BUTTON).drive_low()  # pulled up: low is pressed
    pins.pin(BUTTON).drive_high()


def phone_system(broker: Mosquitto, topics: Topics) -> Any:
    """The simulator with everybody on duty and no calls, so only the desk moves agents."""
    return simulating(broker, topics, seed=5, calls_per_hour=0, on_duty=20, warm_up_s=60)


def outcomes(app: Appliance) -> list[str | None]:
    return [press["outcome"] for press in Store(app.config.history.database).presses()]


async def test_press_goes_to_the_phone_system_and_the_desk_shows_the_answer(
    broker: Mosquitto, topics: Topics, pins: MockFactory
) -> None:
    config = make_config(broker.url, topics, extra=desk_config('agent = "a2101"'))
    async with (
        phone_system(broker, topics) as simulator,
        running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app,
    ):
        agent = simulator.center.agents["a2101"]
        screen = app.screens["desk-1"]
        model = app.desk_displays.screens["desk-1"]
        await until(lambda: app.pins["desk-1"].light in ("green", "red"), what="first light")
        before = agent.state
        press(pins)
        after = "paused" if before == "available" else "available"
        await until(lambda: agent.state == after, what="the phone system to apply the press")
        expected = "red" if after == "paused" else "green"
        await until(lambda: app.pins["desk-1"].light == expected, what="the LED to follow")
        assert pins.pin(LED).state is (expected == "green")
        await until(
            lambda: (
                model.value.state == after
                and screen.shown is not None
                and screen.shown.lines[1].startswith("PAUSE" if after == "paused" else "LEDIG")
            ),
            what="the OLED to follow",
        )
        assert screen.frames > 0
        await until(lambda: outcomes(app) == ["confirmed"], what="the outcome to be recorded")
        if after == "paused":
            assert agent.reason == "Pause"


async def test_a_press_while_the_broker_is_down_goes_out_after_reconnect(
    own_broker: Mosquitto, topics: Topics, pins: MockFactory
) -> None:
    config = make_config(own_broker.url, topics, extra=desk_config('agent = "a2101"'))
    async with (
        phone_system(own_broker, topics) as simulator,
        running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app,
    ):
        agent = simulator.center.agents["a2101"]
        await until(lambda: app.pins["desk-1"].light in ("green", "red"), what="first light")
        before = agent.state
        own_broker.stop()
        await until(lambda: not app.hub.board.value.connected, what="the appliance to notice")
        press(pins)
        await until(lambda: outcomes(app) == [None], what="the press to be recorded")
        assert app.pins["desk-1"].light == "pending"
        assert agent.state == before  # not delivered yet
        own_broker.start()
        await until(lambda: agent.state != before, timeout=20, what="delivery after reconnect")
        await until(lambda: outcomes(app) == ["confirmed"], timeout=20, what="confirmation")


async def test_an_unanswered_request_expires_with_an_error_pattern(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, pins: MockFactory
) -> None:
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(
        topics.agent("a1"), payloads.agent("a1", "available"), qos=1, retain=True
    )
    config = make_config(broker.url, topics, extra=desk_config('agent = "a1"', expiry=5))
    async with running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app:
        await until(lambda: app.pins["desk-1"].light == "green", what="green")
        press(pins)
        await until(lambda: app.pins["desk-1"].light == "pending", what="pending")
        await until(lambda: app.pins["desk-1"].light == "error", timeout=10, what="error pattern")
        assert outcomes(app) == ["expired"]
        screen = app.screens["desk-1"]
        await until(
            lambda: screen.shown is not None and screen.shown.lines[-1] != screen.shown.lines[0],
            what="the reason on the OLED",
        )
        await until(
            lambda: (
                screen.shown is not None
                and screen.shown.lines[-1] == "Intet svar fra telefonsystemet"
            ),
            what="the reason on the OLED",
        )


async def test_hot_desking_follows_the_agent_to_another_extension(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, pins: MockFactory
) -> None:
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(
        topics.agent("a1"), payloads.agent("a1", "available", extension="2101"), qos=1, retain=True
    )
    config = make_config(broker.url, topics, extra=desk_config('extension = "2101"'))
    async with running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app:
        await until(lambda: app.pins["desk-1"].light == "green", what="a1 at the desk")
        await publisher.publish(
            topics.agent("a1"),
            payloads.agent("a1", "available", extension="2102"),
            qos=1,
            retain=True,
        )
        await publisher.publish(
            topics.agent("a2"), payloads.agent("a2", "paused", extension="2101"), qos=1, retain=True
        )
        await until(
            lambda: (
                app.desks.status.value["desk-1"].agent is not None
                and app.desks.status.value["desk-1"].agent.state.agent == "a2"
            ),
            what="a2",
        )
        await until(lambda: app.pins["desk-1"].light == "red", what="a2's pause on the LED")


def with_admin_token(
    broker: Mosquitto, topics: Topics, pins: MockFactory, tmp_path: Path
) -> Appliance:
    """An appliance with one desk whose press API takes the token `s3cret-token`."""
    token = tmp_path / "admin.token"
    token.write_text("s3cret-token\n")
    config = make_config(
        broker.url, topics, extra=desk_config('agent = "a1"'), web=f'admin_token_file = "{token}"'
    )
    return Appliance(config, pin_factory=pins, oled_factory=fake_oled)


async def test_press_api_needs_the_token_and_refuses_other_origins(
    broker: Mosquitto, topics: Topics, pins: MockFactory, tmp_path: Path
) -> None:
    async with running(with_admin_token(broker, topics, pins, tmp_path)) as app:
        url = f"http://127.0.0.1:{app.web_port}/api/desks/desk-1/press"
        good = {"Authorization": "Bearer s3cret-token"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url) as reply:
                assert reply.status == 401
            async with http.post(url, headers={"Authorization": "Bearer wrong"}) as reply:
                assert reply.status == 401
            async with http.post(url, headers=good | {"Origin": "http://evil.example"}) as reply:
                assert reply.status == 403
            async with http.post(url.replace("desk-1", "desk-9"), headers=good) as reply:
                assert reply.status == 404
            async with http.post(url, headers=good) as reply:
                assert reply.status == 200
                assert (await reply.json())["result"] == "refused"  # nobody at the desk
            statuses = []
            for _ in range(12):
                async with http.post(url, headers=good) as reply:
                    statuses.append(reply.status)
            assert 429 in statuses


def test_kill_9_right_after_a_press_loses_nothing_recorded(
    broker: Mosquitto, topics: Topics, tmp_path: Path
) -> None:
    async def publish_agent() -> None:
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.publish(topics.system_status, b"online", qos=1, retain=True)
            await client.publish(
                topics.agent("a1"), payloads.agent("a1", "available"), qos=1, retain=True
            )

    asyncio.run(publish_agent())
    token = tmp_path / "admin.token"
    token.write_text("t0ken\n")
    port = free_port()
    config_file = tmp_path / "hotline.toml"
    config_file.write_text(
        f'[site]\nid = "favrskov"\n[mqtt]\nurl = "{broker.url}"\nprefix = "{topics.prefix}"\n'
        f'[web]\nlisten = "127.0.0.1:{port}"\nadmin_token_file = "{token}"\n'
        f'[history]\nstate_dir = "{tmp_path}"\n' + desk_config('agent = "a1"', oled=False)
    )
    # -OO as systemd/hotline.service runs it: without asserts and docstrings.
    optimised = {"PYTHONOPTIMIZE": "2", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    env = os.environ | {"GPIOZERO_PIN_FACTORY": "mock"} | optimised
    with subprocess.Popen(
        [sys.executable, "-m", "appliance", "run", "--config", str(config_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as app:

        async def press_and_kill() -> dict[str, Any]:
            async with aiohttp.ClientSession() as http:
                async with asyncio.timeout(20):
                    while True:
                        with contextlib.suppress(aiohttp.ClientError):
                            async with http.post(
                                f"http://127.0.0.1:{port}/api/desks/desk-1/press",
                                headers={"Authorization": "Bearer t0ken"},
                            ) as reply:
                                answer: dict[str, Any] = await reply.json()
                                if answer.get("result") == "requested":
                                    app.send_signal(signal.SIGKILL)  # right after the press
                                    return answer
                        await asyncio.sleep(0.1)  # the appliance is still starting

        answer = asyncio.run(press_and_kill())
        app.wait(timeout=10)
    assert answer["state"] == "paused"
    presses = Store(tmp_path / "hotline.db").presses()
    assert [(p["desk"], p["agent"], p["state"]) for p in presses] == [("desk-1", "a1", "paused")]


async def test_wrong_tokens_are_throttled_per_address_before_they_are_compared(
    broker: Mosquitto, topics: Topics, pins: MockFactory, tmp_path: Path
) -> None:
    async with running(with_admin_token(broker, topics, pins, tmp_path)) as app:
        url = f"http://127.0.0.1:{app.web_port}/api/desks/desk-1/press"
        async with aiohttp.ClientSession() as http:
            statuses = []
            for guess in range(8):
                headers = {"Authorization": f"Bearer guess-{guess}"}
                async with http.post(url, headers=headers) as reply:
                    statuses.append(reply.status)
                    retry_after = reply.headers.get("Retry-After")
            assert statuses == [401] * 5 + [429] * 3
            assert retry_after is not None
            assert 0 < int(retry_after) <= 60
            # Throttled, the right token is refused too: a guesser cannot tell it was right.
            good = {"Authorization": "Bearer s3cret-token"}
            async with http.post(url, headers=good) as reply:
                assert reply.status == 429
        assert outcomes(app) == []


def test_the_guess_limit_keeps_addresses_apart_and_forgives_with_time() -> None:
    now = [0.0]
    limit = GuessLimit(burst=2, every_s=60.0, clock=lambda: now[0], max_clients=3)
    for _ in range(2):
        limit.wrong("10.0.0.1")
    assert limit.blocked_for("10.0.0.1") == pytest.approx(60.0)
    assert limit.blocked_for("10.0.0.2") == 0
    now[0] += 30
    assert limit.blocked_for("10.0.0.1") == pytest.approx(30.0)
    now[0] += 30
    assert limit.blocked_for("10.0.0.1") == 0
    for client in ("a", "b", "c", "d"):  # bounded: the oldest address is forgotten
        limit.wrong(client)
    assert len(limit._buckets) == 3


@pytest.mark.skipif(not small_disk.available(), reason="needs root to mount a tmpfs")
async def test_presses_on_a_full_disk_are_written_once_there_is_room(
    broker: Mosquitto, topics: Topics, pins: MockFactory
) -> None:
    with small_disk.mounted() as disk:
        config = make_config(
            broker.url, topics, extra=desk_config('agent = "a2101"'),
            history=f'state_dir = "{disk.path}"',
        )  # fmt: skip
        async with (
            phone_system(broker, topics) as simulator,
            running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app,
        ):
            agent = simulator.center.agents["a2101"]
            await until(lambda: app.pins["desk-1"].light in ("green", "red"), what="first light")
            disk.fill()
            before = agent.state
            press(pins)
            await until(lambda: agent.state != before, what="the press to work all the same")
            await until(lambda: app.desks.history_error != "", what="the failed write")
            assert "full" in app.desks.history_error
            disk.free()
            await until(lambda: outcomes(app) == ["confirmed"], what="the late write")
            await until(lambda: app.desks.history_error == "", what="the error to clear")
