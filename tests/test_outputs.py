"""No optional part takes the appliance down: each failure is that part's, reported, retried.

The board must stay live throughout: every test changes the queue while a part is broken
and reads the change back from `/api/board`.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import gpiozero
import serial
from gpiozero.pins.mock import MockFactory
from luma.core.device import dummy
from luma.core.error import DeviceNotFoundError

from appliance.core.config import OledConfig
from appliance.core.contract import Topics
from appliance.drivers.oled import make_device
from appliance.programs.service import Appliance
from tests.conftest import ALWAYS_OPEN, board_until, make_config, running, until
from tests.support import payloads
from tests.support.flaky import FlakyPin
from tests.support.mosquitto import Mosquitto
from tests.test_desks import LED, desk_config

TWO_OLEDS = (
    ALWAYS_OPEN
    + """
[[desks]]
id = "desk-1"
agent = "a1"
button = "GPIO17"
oled = "on-i2c"

[[desks]]
id = "desk-2"
agent = "a2"
button = "GPIO18"
oled = "on-spi"

[[oled]]
name = "on-i2c"
interface = "i2c"
i2c_port = 7         # no /dev/i2c-7 here: an unplugged display, a wrong bus number

[[oled]]
name = "on-spi"
interface = "spi"
spi_port = 5
"""
)


async def board_stays_live(
    app: Appliance, publisher: aiomqtt.Client, topics: Topics, n: int
) -> None:
    """The phone system says `n` wait; the board must show it, whatever else is broken."""
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(topics.queue("borger"), payloads.queue(waiting=n), qos=1, retain=True)
    await board_until(
        app, lambda b: b["feed"] == "live" and b["queues"] and b["queues"][0]["waiting"] == n
    )


async def fetch(app: Appliance, path: str) -> aiohttp.ClientResponse:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{app.web_port}{path}") as reply,
    ):
        await reply.read()
        return reply


async def health(app: Appliance) -> dict[str, Any]:
    return await (await fetch(app, "/healthz")).json()  # type: ignore[no-any-return]


async def metrics(app: Appliance) -> str:
    return await (await fetch(app, "/metrics")).text()


def outputs_of(report: dict[str, Any]) -> dict[str, str | None]:
    return {o["name"]: o["message"] for o in report["health"]["outputs"]}


async def test_oleds_on_buses_that_are_not_there_leave_everything_else_running(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, pins: MockFactory
) -> None:
    config = make_config(broker.url, topics, extra=TWO_OLEDS)
    # The real factory: luma's own i2c and spi interface classes, on buses that do not exist.
    async with running(Appliance(config, pin_factory=pins, oled_factory=make_device)) as app:
        await board_stays_live(app, publisher, topics, 2)
        await until(lambda: app.outputs.failures.get("oled on-spi", 0) >= 1, what="spi fails")
        await until(lambda: app.outputs.failures.get("oled on-i2c", 0) >= 2, what="a retry")
        report = await health(app)
        assert report["healthy"] is False
        errors = outputs_of(report)
        assert errors["oled on-i2c"] == "DeviceNotFoundError: I2C device not found: /dev/i2c-7"
        assert errors["oled on-spi"]  # on a PC: no RPi.GPIO; on a Pi: no /dev/spidev5.0
        text = await metrics(app)
        assert 'hotline_output_up{output="oled on-i2c"} 0' in text
        assert 'hotline_output_failures_total{output="oled on-i2c"}' in text
        await board_stays_live(app, publisher, topics, 5)  # and it keeps following
        assert app.link.connected


async def test_a_display_that_fails_and_comes_back_needs_no_restart(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, pins: MockFactory
) -> None:
    failures: list[BaseException] = [
        DeviceNotFoundError("I2C device not found: /dev/i2c-1"),
        OSError(121, "Remote I/O error"),
    ]
    made: list[Any] = []

    class WrongSize:  # what luma raises when a frame does not fit: an AssertionError
        mode, size = "1", (128, 64)

        def display(self, image: Any) -> None:
            raise AssertionError("image size does not match device size")

        def contrast(self, level: int) -> None: ...

        def show(self) -> None: ...

        def cleanup(self) -> None:
            made.append("closed")

    def factory(oled: OledConfig) -> Any:
        if failures:
            raise failures.pop(0)
        if "wrong size" not in made:
            made.append("wrong size")
            return WrongSize()
        made.append("good")
        return dummy(width=oled.width, height=oled.height, mode="1")

    config = make_config(broker.url, topics, extra=desk_config('agent = "a1"'))
    async with running(Appliance(config, pin_factory=pins, oled_factory=factory)) as app:
        await board_stays_live(app, publisher, topics, 1)
        screen = app.screens["desk-1"]
        await until(lambda: app.outputs.failures.get("oled desk-1", 0) >= 1, what="a failure")
        assert screen.frames == 0
        await board_stays_live(app, publisher, topics, 3)
        await until(lambda: screen.frames > 0, timeout=15, what="the screen to come back")
        assert made == ["wrong size", "closed", "good"]  # the failed device was closed
        assert app.outputs.states["oled desk-1"] == (True, "")
        assert app.outputs.failures["oled desk-1"] == 3
        await until(lambda: screen.shown is not None and screen.shown.lines[0].startswith("3"))


def test_making_devices_leaves_no_exit_hooks_behind() -> None:
    oled = OledConfig(name="x", driver="dummy")
    before = atexit._ncallbacks()
    for _ in range(50):
        make_device(oled).cleanup()
    assert atexit._ncallbacks() == before
    for _ in range(5):
        with contextlib.suppress(DeviceNotFoundError):
            make_device(OledConfig(name="gone", i2c_port=7))
    gc.collect()
    assert atexit._ncallbacks() == before


async def test_a_desk_whose_pin_is_taken_is_retried_and_releases_what_it_took(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, pins: MockFactory
) -> None:
    squatter = gpiozero.LED(LED, pin_factory=pins)  # another program holds the desk's LED pin
    config = make_config(broker.url, topics, extra=desk_config('agent = "a1"', oled=False))
    async with running(Appliance(config, pin_factory=pins)) as app:
        await board_stays_live(app, publisher, topics, 1)
        await until(lambda: app.outputs.failures.get("desk desk-1", 0) >= 1, what="pin in use")
        assert "desk-1" not in app.pins
        assert "in use" in (outputs_of(await health(app))["desk desk-1"] or "")
        squatter.close()
        # Had the first try kept its button, every retry would find that pin taken too.
        await until(lambda: "desk-1" in app.pins, timeout=15, what="the desk's pins")
        await publisher.publish(topics.agent("a1"), payloads.agent("a1", "available"), qos=1)
        await until(lambda: pins.pin(LED).state, what="the LED to follow the agent")
        assert app.outputs.states["desk desk-1"] == (True, "")


async def test_a_desk_whose_pins_fail_mid_evening_comes_back_by_itself(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client
) -> None:
    pins = MockFactory(pin_class=FlakyPin)
    config = make_config(broker.url, topics, extra=desk_config('agent = "a1"', oled=False))
    try:
        async with running(Appliance(config, pin_factory=pins)) as app:
            available = payloads.agent("a1", "available")
            await publisher.publish(topics.agent("a1"), available, qos=1, retain=True)
            await until(lambda: pins.pin(LED).state, what="the LED lit for an available agent")
            FlakyPin.failing = True  # the GPIO expander stops answering
            paused = payloads.agent("a1", "paused", reason="Frokost")
            await publisher.publish(topics.agent("a1"), paused, qos=1)
            # A failure, then retries that fail while claiming the pins again.
            await until(lambda: app.outputs.failures.get("desk desk-1", 0) >= 3, what="retries")
            await board_stays_live(app, publisher, topics, 2)
            FlakyPin.failing = False
            # Retried, the pins are claimed again: nothing of the failed try still holds them.
            await until(lambda: app.outputs.states.get("desk desk-1") == (True, ""), timeout=15)
            await until(lambda: not pins.pin(LED).state, what="the LED to show the pause")
    finally:
        FlakyPin.failing = False
        pins.close()


async def test_a_sign_that_fails_unexpectedly_is_retried(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client
) -> None:
    opened: list[str] = []

    def opener(url: str, **settings: Any) -> serial.SerialBase:
        opened.append(url)
        if len(opened) == 1:
            raise RuntimeError("a driver bug")  # not a serial error: the supervisor's case
        return serial.serial_for_url("loop://", **settings)

    extra = ALWAYS_OPEN + '[sign]\nport = "/dev/wallboard"\n'
    config = make_config(broker.url, topics, extra=extra)
    async with running(Appliance(config, sign_opener=opener)) as app:
        await board_stays_live(app, publisher, topics, 4)
        await until(lambda: app.outputs.failures.get("sign", 0) >= 1, what="the failure")
        await until(lambda: app.sign is not None and app.sign.writes > 0, timeout=15)
        assert app.outputs.states["sign"] == (True, "")
        assert opened == ["/dev/wallboard", "/dev/wallboard"]


async def test_history_on_a_broken_disk_is_retried_while_the_boards_go_on(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.write_text("a file where the state directory should be")
    config = make_config(broker.url, topics, history=f'state_dir = "{state}"')
    async with running(Appliance(config)) as app:
        await board_stays_live(app, publisher, topics, 2)
        await until(lambda: app.outputs.failures.get("history", 0) >= 1, what="history fails")
        assert "cannot open" in (outputs_of(await health(app))["history"] or "")
        state.unlink()
        state.mkdir()
        await until(lambda: app.history_ok, timeout=15, what="history to open on a retry")
        assert app.outputs.states["history"] == (True, "")
        await board_stays_live(app, publisher, topics, 3)
