"""The phone-system simulator running beside a test, on the test's broker and prefix."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from appliance.contract import Topics
from appliance.simulator.runner import Simulator, SimulatorSettings
from tests.support.mosquitto import Mosquitto


@contextlib.asynccontextmanager
async def simulating(
    broker: Mosquitto, topics: Topics, **settings: Any
) -> AsyncIterator[Simulator]:
    simulator = Simulator(SimulatorSettings(broker=broker.url, prefix=topics.prefix, **settings))
    task = asyncio.create_task(simulator.run(), name="simulator-under-test")
    try:
        yield simulator
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
