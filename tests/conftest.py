from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory

from appliance.core.config import Config
from appliance.core.contract import Topics
from appliance.core.hours import always_open_toml
from appliance.programs.configuration import parse_config
from appliance.programs.service import Appliance
from tests.support.mosquitto import Mosquitto

_prefixes = itertools.count(1)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """One real Mosquitto for the session; each test isolates itself by topic prefix."""
    mosquitto = Mosquitto(tmp_path_factory.mktemp("mosquitto"))
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker this test may stop and restart."""
    mosquitto = Mosquitto(tmp_path / "mosquitto")
    mosquitto.start()
    yield mosquitto
    mosquitto.stop()


@pytest.fixture
def pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    yield factory
    factory.close()


@pytest.fixture
def topics() -> Topics:
    return Topics(f"test{next(_prefixes)}/v1")


ALWAYS_OPEN = always_open_toml()


def make_config(
    broker_url: str,
    topics: Topics,
    extra: str = ALWAYS_OPEN,
    history: str = "",
    web: str = "",
    **mqtt: Any,
) -> Config:
    """A config for one test; history goes to a fresh directory unless `history` says more."""
    url = json.dumps(mqtt.pop("url", broker_url))  # a list: brokers in turn
    mqtt_lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in mqtt.items())
    if "listen" not in web:
        web = f'listen = "127.0.0.1:0"\n{web}'
    history = history or f'state_dir = "{tempfile.mkdtemp(prefix="hotline-test-")}"'

    return parse_config(
        f"""
[site]
id = "favrskov"
name = "Favrskov Borgerservice"
appliance = "test"

[mqtt]
url = {url}
prefix = "{topics.prefix}"
{mqtt_lines}
[web]
{web}

[history]
{history}
{extra}
"""
    )


@contextlib.asynccontextmanager
async def running(appliance: Appliance) -> AsyncIterator[Appliance]:
    task = asyncio.create_task(appliance.run(), name="appliance-under-test")
    try:
        async with asyncio.timeout(10):
            await appliance.ready.wait()
        yield appliance
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(10):  # a clean shutdown is part of what is tested
                await task


async def board_until(
    appliance: Appliance, predicate: Callable[[dict[str, Any]], object], timeout: float = 5.0
) -> dict[str, Any]:
    """The board as displayed, once `predicate` holds; fails with the last board seen."""
    views = appliance.views.models
    board: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                version = views.version
                board = json.loads(appliance.views.render())
                if predicate(board):
                    return board
                await views.wait_newer(version)
    except TimeoutError:
        raise AssertionError(
            f"board never matched; last: {json.dumps(board)}; link {appliance.link.status.value!r}"
        ) from None


@pytest.fixture
async def publisher(broker: Mosquitto) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        yield client


async def link_status_until(
    appliance: Appliance, predicate: Callable[[str], object], timeout: float = 10.0
) -> str:
    """The broker link's status ("" when connected, else the reason), once it matches."""
    status = appliance.link.status
    try:
        async with asyncio.timeout(timeout):
            while not predicate(status.value):
                await status.wait_newer(status.version)
    except TimeoutError:
        raise AssertionError(f"link status stayed {status.value!r}") from None
    return status.value


async def until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Wait for a condition that other tasks or threads make true, under a deadline."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.02)  # polling state owned elsewhere
    except TimeoutError:
        raise AssertionError(f"never came true: {what or condition}") from None
