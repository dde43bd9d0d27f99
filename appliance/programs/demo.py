"""`hotline demo`: broker, phone-system simulator and appliance in one process.

For a newcomer at any hour: an in-process MQTT broker (amqtt) on loopback, the simulator
playing an evening of the shared hotline, and an appliance for Favrskov showing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

from gpiozero.pins.mock import MockFactory, MockPWMPin
from luma.core.device import dummy

from appliance.core.config import Config
from appliance.core.contract import VERSION, Rota, Shift, ShiftRole, Topics, encode
from appliance.core.hours import COPENHAGEN, always_open_toml
from appliance.phone.simulator.model import SimAgent
from appliance.phone.simulator.runner import Simulator, SimulatorSettings
from appliance.programs.configuration import parse_config
from appliance.programs.service import Appliance
from appliance.programs.sign_emulator import PtySign, SignEmulator
from wallboard.web.demo import add_demo_routes

log = logging.getLogger(__name__)

DEMO_CONFIG = """
[site]
id = "favrskov"
name = "Favrskov Borgerservice"
appliance = "demo"

[mqtt]
url = "mqtt://127.0.0.1:{broker_port}"
protocol = "3.1.1"   # amqtt speaks MQTT 3.1.1

[web]
listen = "{listen}"
language = "{language}"

[history]
state_dir = "{state_dir}"

[sign]
port = "{sign_port}"
framing = "8N1"

# Mette Jensen (Favrskov) at desk 1. Desk 2 follows extension 2102, where Lars Nielsen of
# Aarhus logs in: the phone system refuses Favrskov's requests for him, as it should.
[[desks]]
id = "desk-1"
agent = "a2101"
button = "GPIO17"
led = "GPIO27"
oled = "desk-1"

[[desks]]
id = "desk-2"
extension = "2102"
button = "GPIO5"
rgb_led = ["GPIO6", "GPIO13", "GPIO19"]
oled = "desk-2"

[[oled]]
name = "desk-1"

[[oled]]
name = "desk-2"
height = 32

{hours}
"""


def _closed_until_tomorrow_evening(today: date) -> str:
    """...unless asked to show the closed state: closed now, open tomorrow evening."""
    tomorrow = today + timedelta(days=1)
    return (
        f'[hours]\nholidays = ""\nweekly = {{}}\n'
        f'open_dates = {{"{tomorrow.isoformat()}" = ["18:30-22:00"]}}\n'
    )


def demo_config(
    broker_port: int,
    listen: str,
    *,
    language: str,
    closed: bool = False,
    state_dir: str = "",
    sign_port: str = "",
) -> Config:
    hours = (
        _closed_until_tomorrow_evening(datetime.now(COPENHAGEN).date())
        if closed
        else always_open_toml()  # a newcomer sees live numbers at any hour
    )
    text = DEMO_CONFIG.format(
        broker_port=broker_port,
        listen=listen,
        language=language,
        hours=hours,
        state_dir=state_dir,
        sign_port=sign_port,
    )
    return parse_config(text, "demo config")


@contextlib.asynccontextmanager
async def embedded_broker(port: int) -> AsyncIterator[None]:
    """An amqtt broker on loopback for as long as the context lasts."""
    from amqtt.broker import Broker  # noqa: PLC0415 - an extra: only the demo needs it

    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.ERROR)
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
    )
    await broker.start()
    try:
        yield
    finally:
        await broker.shutdown()


def demo_rota(agents: list[SimAgent], now: datetime) -> Rota:
    """Tonight's rota as a supervisor would have planned it: those on the phones now, one
    who has not come, two on standby, and (by leaving one out) one on duty off the rota."""
    local = now.astimezone(COPENHAGEN).replace(second=0, microsecond=0)
    start = local.replace(minute=0) - timedelta(hours=1)
    end = start + timedelta(hours=4)
    on = [agent for agent in agents if agent.state != "logged_out"]
    off = [agent for agent in agents if agent.state == "logged_out"]
    phone: ShiftRole = "phone"
    standby: ShiftRole = "standby"
    planned = [(agent, phone) for agent in [*on[1:], *off[:1]]]
    planned += [(agent, standby) for agent in off[1:3]]
    shifts = tuple(
        Shift(agent=a.id, start=start, end=end, role=role, name=a.name, site=a.site)
        for a, role in planned
    )
    return Rota(v=VERSION, date=local.date(), ts=local, shifts=shifts)


class Demo:
    """The demo's parts, reachable for the screenshot tool and the tests."""

    def __init__(
        self,
        *,
        broker_port: int = 18830,
        listen: str = "127.0.0.1:8080",
        language: str = "da",
        speed: float = 1.0,
        closed: bool = False,
    ) -> None:
        self.broker_port = broker_port
        self.state_dir = tempfile.mkdtemp(prefix="hotline-demo-")  # the demo leaves no trace
        self.sign = SignEmulator()
        self.sign_line = PtySign(self.sign)
        self.config = demo_config(
            broker_port,
            listen,
            language=language,
            closed=closed,
            state_dir=self.state_dir,
            sign_port=self.sign_line.path,
        )
        self.pins = MockFactory(pin_class=MockPWMPin)  # RGB LEDs dim by PWM
        self.appliance = Appliance(
            self.config,
            extend_web=lambda app: add_demo_routes(
                app,
                lambda: self.sign.shown.value,
                self.appliance.press,
            ),
            pin_factory=self.pins,
            oled_factory=lambda oled: dummy(width=oled.width, height=oled.height, mode="1"),
        )
        self.simulator = Simulator(
            SimulatorSettings(
                broker=self.broker_url, protocol="3.1.1", speed=speed, calls_per_hour=110, on_duty=8
            )
        )

    async def _publish_rota(self) -> None:
        """The supervisors' side, played here: tonight's rota, retained."""
        rota = demo_rota(list(self.simulator.center.agents.values()), datetime.now(COPENHAGEN))
        await self.appliance.link.wait_connected()
        topic = Topics(self.config.mqtt.prefix).rota(rota.date)
        await self.appliance.link.publish(topic, encode(rota), qos=1, retain=True)

    @property
    def broker_url(self) -> str:
        return f"mqtt://127.0.0.1:{self.broker_port}"

    @property
    def wallboard_url(self) -> str:
        host = self.config.web.host
        host = "localhost" if host in ("0.0.0.0", "") else host  # noqa: S104
        return f"http://{host}:{self.appliance.web_port}/"

    async def run(self, *, announce: bool = True) -> None:
        try:
            await self._run(announce=announce)
        finally:
            self.sign_line.close()
            self.pins.close()
            shutil.rmtree(self.state_dir, ignore_errors=True)

    async def _run(self, *, announce: bool) -> None:
        async with embedded_broker(self.broker_port), asyncio.TaskGroup() as group:
            group.create_task(self.simulator.run(), name="simulator")
            group.create_task(self.appliance.run(), name="appliance")
            group.create_task(self.sign_line.serve(), name="sign-emulator")
            await self.appliance.ready.wait()
            await self._publish_rota()
            if announce:
                print(
                    f"\n  Wallboard: {self.wallboard_url}"
                    f"\n  Demo page (wallboard, LED sign, desks): {self.wallboard_url}demo"
                    "\n  Ctrl-C stops the demo.\n",
                    flush=True,
                )
