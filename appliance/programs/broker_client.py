"""The broker for the one-shot commands (`hotline message`, `hotline rota`): which one,
and a retained message published or read once."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable

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


@contextlib.asynccontextmanager
async def connected(
    mqtt: MqttConfig,
    timeout_s: float,
    subscriptions: list[str] | None = None,
    on_message: Callable[[str, bytes], None] | None = None,
) -> AsyncIterator[MqttLink]:
    """A link to the broker for one command, connected (and subscribed) within `timeout_s`."""
    # An id of its own: two supervisors running a command at once must not kick each other.
    client_id = f"hotline-cli-{secrets.token_hex(4)}"
    link = MqttLink(
        mqtt,
        client_id=client_id,
        subscriptions=subscriptions or [],
        on_message=on_message or (lambda _topic, _payload: None),
    )
    connection = asyncio.create_task(link.run(), name="mqtt")
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await link.wait_connected()  # and subscribed: retained messages are on their way
        except TimeoutError:
            raise HotlineError(f"broker not reachable: {link.last_error}") from None
        yield link
    finally:
        connection.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await connection


async def publish_once(
    mqtt: MqttConfig, messages: list[tuple[str, bytes]], timeout_s: float
) -> None:
    """Each (topic, payload) retained, QoS 1, over one connection."""
    async with connected(mqtt, timeout_s) as link:
        try:
            async with asyncio.timeout(timeout_s):
                for topic, payload in messages:
                    await link.publish(topic, payload, qos=1, retain=True)
        except TimeoutError:
            raise HotlineError(f"the broker did not take it: {link.last_error}") from None


async def read_retained(mqtt: MqttConfig, topic: str, timeout_s: float) -> bytes | None:
    """The retained message on `topic`, or None if there is none."""
    found: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def arrived(_topic: str, payload: bytes) -> None:
        if not found.done():
            found.set_result(payload)

    async with connected(mqtt, timeout_s, [topic], arrived):
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(RETAINED_WAIT_S):
                return await found
        return None
