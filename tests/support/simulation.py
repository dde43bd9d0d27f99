"""The phone-system simulator running beside a test, on the test's broker and prefix."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from appliance.core.contract import Topics
from appliance.phone.simulator.runner import Simulator, SimulatorSettings
from tests.support.mosquitto import Mosquitto
from tests.support.tasks import beside


@contextlib.asynccontextmanager
async def simulating(
    broker: Mosquitto, topics: Topics, **settings: Any
) -> AsyncIterator[Simulator]:
    simulator = Simulator(SimulatorSettings(broker=broker.url, prefix=topics.prefix, **settings))
    async with beside(simulator.run(), "simulator-under-test"):
        yield simulator
