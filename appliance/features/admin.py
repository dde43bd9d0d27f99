"""What /admin does for a supervisor, over the appliance's own broker link."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, tzinfo
from typing import Any

from appliance.core.clock import Clock
from appliance.core.contract import VERSION, TickerLevel, TickerMessage, Topics, encode
from appliance.core.rota_files import rota_messages

# MqttLink.publish: raises NotConnectedError, or PublishRefusedError (the broker's ACL:
# with MQTT 5 a refused message is said so; a supervisor sees it on the page).
Publish = Callable[..., Awaitable[None]]


class AdminOverMqtt:
    """Ticker messages and rotas, published retained as `hotline message` and `hotline rota
    publish` do."""

    def __init__(self, publish: Publish, topics: Topics, clock: Clock, zone: tzinfo) -> None:
        self._publish = publish
        self._topics = topics
        self._clock = clock
        self._zone = zone

    async def post_message(
        self, target: str, text: str, level: str, expires: datetime | None
    ) -> None:
        kind: TickerLevel = "warning" if level == "warning" else "info"
        message = TickerMessage(v=VERSION, text=text, level=kind, expires=expires)
        await self._publish(self._topics.messages(target), encode(message), qos=1, retain=True)

    async def clear_message(self, target: str) -> None:
        await self._publish(self._topics.messages(target), b"", qos=1, retain=True)

    async def publish_rota(self, name: str, data: bytes) -> list[dict[str, Any]]:
        now = self._clock.now().astimezone(self._zone).replace(microsecond=0)
        days = rota_messages(data, name, self._zone, self._topics, now)  # every mistake, or none
        for day in days:
            await self._publish(day.topic, day.payload, qos=1, retain=True)
        return [{"date": d.day.isoformat(), "shifts": d.shifts, "standby": d.standby} for d in days]
