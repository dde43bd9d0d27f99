"""The broker for the one-shot commands (`hotline message`, `hotline rota`): which one,
and a retained message published or read once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from appliance.core.config import Config, MqttConfig
from appliance.core.contract import DEFAULT_PREFIX
from appliance.core.errors import HotlineError
from appliance.drivers.mqtt import MqttLink
from appliance.programs.configuration import load_config

RETAINED_WAIT_S = 2.0  # after subscribing: a retained message comes at once, or there is none


def broker_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--broker", default="mqtt://localhost:1883", help="mqtt://host:port")
    command.add_argument("--prefix", default=DEFAULT_PREFIX)
    command.add_argument("--protocol", choices=("5", "3.1.1"), default="5")


def one_shot_options(command: argparse.ArgumentParser) -> None:
    """The broker of a command that publishes or reads once, and how long it may try."""
    command.add_argument("--config", help="take the broker from an appliance config")
    command.add_argument("--timeout", type=float, default=10.0)
    broker_options(command)


def mqtt_for(args: argparse.Namespace) -> MqttConfig:
    if args.config:
        config: Config = load_config(args.config)
        return config.mqtt
    return MqttConfig(url=args.broker, prefix=args.prefix, protocol=args.protocol)


async def publish_once(mqtt: MqttConfig, topic: str, payload: bytes, timeout_s: float) -> None:
    link = MqttLink(
        mqtt, client_id="hotline-message", subscriptions=[], on_message=lambda _t, _p: None
    )
    connection = asyncio.create_task(link.run(), name="mqtt")
    try:
        async with asyncio.timeout(timeout_s):
            await link.wait_connected()
            await link.publish(topic, payload, qos=1, retain=True)
    except TimeoutError:
        raise HotlineError(f"broker not reachable: {link.last_error}") from None
    finally:
        connection.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connection


async def read_retained(mqtt: MqttConfig, topic: str, timeout_s: float) -> bytes | None:
    """The retained message on `topic`, or None if there is none."""
    found: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def arrived(_topic: str, payload: bytes) -> None:
        if not found.done():
            found.set_result(payload)

    link = MqttLink(mqtt, client_id="hotline-read", subscriptions=[topic], on_message=arrived)
    connection = asyncio.create_task(link.run(), name="mqtt")
    try:
        async with asyncio.timeout(timeout_s):
            await link.wait_connected()  # and subscribed: the retained message is on its way
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RETAINED_WAIT_S):
                return await found
        return None
    except TimeoutError:
        raise HotlineError(f"broker not reachable: {link.last_error}") from None
    finally:
        connection.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connection
