"""`hotline simulate`: plays the shared phone system on a broker, by the contract."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from appliance.core.config import MqttConfig
from appliance.core.contract import (
    DEFAULT_PREFIX,
    VERSION,
    QueueState,
    SetRequestUpdate,
    SetResult,
    Topics,
    decode,
    encode,
)
from appliance.core.errors import NotConnectedError
from appliance.drivers.mqtt import MqttLink
from appliance.phone.simulator.model import QUEUES, CallCenter

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimulatorSettings:
    broker: str = "mqtt://localhost:1883"
    prefix: str = DEFAULT_PREFIX
    protocol: str = "5"
    seed: int | None = None
    speed: float = 1.0
    calls_per_hour: float = 95.0
    on_duty: int = 7
    warm_up_s: float = 2 * 3600
    tick_s: float = 0.5
    heartbeat_s: float = 15.0  # the contract asks for at least every 30 s


class Simulator:
    def __init__(self, settings: SimulatorSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.prefix)
        # Start the evening `warm_up_s` ago and play it in a moment, so that a demo or a
        # test starts mid-shift, with callers waiting and today's counts, at the real time.
        self.center = CallCenter(
            random.Random(settings.seed),
            datetime.now(UTC) - timedelta(seconds=settings.warm_up_s),
            calls_per_hour=settings.calls_per_hour,
            on_duty_target=settings.on_duty,
        )
        self.center.warm_up(settings.warm_up_s)
        self._requests: asyncio.Queue[SetRequestUpdate] = asyncio.Queue()
        self._resync = True
        self.link = MqttLink(
            MqttConfig(
                url=settings.broker,
                prefix=settings.prefix,
                protocol="5" if settings.protocol == "5" else "3.1.1",
            ),
            client_id=f"hotline-simulator-{random.randrange(1 << 24):06x}",
            subscriptions=self.topics.phone_system_subscriptions(),
            on_message=self._on_message,
            on_connection=self._on_connection,
            availability_topic=self.topics.system_status,
            session_expiry_s=3600,  # requests made while we reconnect wait for us
        )

    def _on_connection(self, connected: bool, _reason: str) -> None:
        self._resync = self._resync or connected

    def _on_message(self, topic: str, payload: bytes) -> None:
        event = decode(self.topics, topic, payload)
        if isinstance(event, SetRequestUpdate):
            self._requests.put_nowait(event)
        else:
            log.info("ignored %s: %s", topic, event)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.link.run(), name="simulator-mqtt")
            group.create_task(self._play(), name="simulator-clock")
            group.create_task(self._answer_requests(), name="simulator-requests")

    async def _publish(self, topic: str, payload: bytes) -> None:
        await self.link.publish(topic, payload, qos=1, retain=True)

    async def _publish_queue(self, state: QueueState) -> None:
        await self._publish(self.topics.queue(state.queue), encode(state))

    async def _publish_agent(self, agent: str) -> None:
        await self._publish(self.topics.agent(agent), encode(self.center.agent_state(agent)))

    async def _play(self) -> None:
        loop = asyncio.get_running_loop()
        tick, names = self.settings.tick_s, {queue: name for queue, name, _ in QUEUES}
        last_heartbeat = -1e9
        while True:
            queues, agents = self.center.step(tick * self.settings.speed)
            if loop.time() - last_heartbeat >= self.settings.heartbeat_s or self._resync:
                queues, last_heartbeat = set(names), loop.time()
                if self._resync:
                    agents = set(self.center.agents)
            try:
                for agent in sorted(agents):
                    await self._publish_agent(agent)
                for queue in sorted(queues):
                    await self._publish_queue(self.center.queue_state(queue, names[queue]))
                self._resync = False
            except NotConnectedError:
                self._resync = True
            await asyncio.sleep(tick)

    async def _answer_requests(self) -> None:
        while True:
            update = await self._requests.get()
            request = update.request
            if request.expires <= datetime.now(UTC):
                error: str | None = "request expired"
            else:
                error = self.center.request(
                    update.agent, update.site, request.state, request.reason
                )
            result = SetResult(
                v=VERSION,
                request_id=request.request_id,
                status="error" if error else "ok",
                error=error,
            )
            log.info("request %s for %s: %s", request.state, update.agent, error or "ok")
            try:
                await self.link.publish(
                    self.topics.set_result(update.site, update.agent), encode(result), qos=1
                )
                if not error:
                    await self._publish_agent(update.agent)
            except NotConnectedError:
                log.warning("could not answer request %s: broker gone", request.request_id)
