"""`hotline demo`: broker, phone-system simulator and appliance in one process.

For a newcomer at any hour: an in-process MQTT broker (amqtt) on loopback, the simulator
playing an evening of the shared hotline, and an appliance for Favrskov showing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from appliance.config import Config, parse_config
from appliance.service import Appliance
from appliance.simulator.runner import Simulator, SimulatorSettings

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
"""


def demo_config(broker_port: int, listen: str, language: str) -> Config:
    text = DEMO_CONFIG.format(broker_port=broker_port, listen=listen, language=language)
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


async def run_demo(
    *, broker_port: int = 18830, listen: str = "127.0.0.1:8080", language: str = "da",
    speed: float = 1.0,
) -> None:
    config = demo_config(broker_port, listen, language)
    appliance = Appliance(config)
    simulator = Simulator(
        SimulatorSettings(broker=f"mqtt://127.0.0.1:{broker_port}", protocol="3.1.1",
                          speed=speed, calls_per_hour=105, on_duty=8)
    )
    async with embedded_broker(broker_port), asyncio.TaskGroup() as group:
        group.create_task(simulator.run(), name="simulator")
        group.create_task(appliance.run(), name="appliance")
        await appliance.ready.wait()
        host = config.web.host if config.web.host not in ("0.0.0.0", "") else "localhost"  # noqa: S104
        print(f"\n  Wallboard: http://{host}:{appliance.web_port}/\n  Ctrl-C stops the demo.\n",
              flush=True)
