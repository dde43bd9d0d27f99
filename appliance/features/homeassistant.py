"""Home Assistant discovery (opt-in, `[homeassistant] discovery = true`): the appliance's
device and entities, published retained on every connection and for each new queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

from appliance.core.board import Board, shown_queues
from appliance.core.contract import Topics
from appliance.core.errors import NotConnectedError, PublishRefusedError
from appliance.core.homeassistant import Appliance, discovery_messages
from appliance.runtime.latest import Latest

Publish = Callable[..., Awaitable[None]]
SETTLE_S = 1.0  # queues come in a burst on connecting: one round of configs for them
REFUSED_RETRY_S = 300.0  # an ACL that refuses discovery: tried again now and then
log = logging.getLogger(__name__)


class HomeAssistantDiscovery:
    def __init__(
        self,
        device: Appliance,
        topics: Topics,
        boards: Latest[Board],
        *,
        publish: Publish,
        wait_connected: Callable[[], Awaitable[None]],
        prefix: str,
    ) -> None:
        self._device = device
        self._topics = topics
        self._boards = boards
        self._publish = publish
        self._wait_connected = wait_connected
        self._prefix = prefix
        self.published = 0  # configs sent (for the tests and /metrics)
        self.refused = ""  # why the broker refused them, if it did

    def _queues(self) -> dict[str, str]:
        return {e.state.queue: e.state.name or "" for e in shown_queues(self._boards.value)}

    async def run(self) -> NoReturn:
        while True:
            await self._wait_connected()
            known: dict[str, str] | None = None
            try:
                while self._boards.value.connected or known is None:
                    seen = self._boards.version  # changes while publishing are not missed
                    queues = self._queues()
                    if queues != known:
                        for topic, payload in discovery_messages(
                            self._device, self._topics, queues, self._prefix
                        ):
                            await self._publish(topic, payload, qos=1, retain=True)
                            self.published += 1
                        known = queues
                    await self._boards.wait_newer(seen)
                    await asyncio.sleep(SETTLE_S)
            except NotConnectedError:
                await asyncio.sleep(SETTLE_S)  # connected again: every config once more
            except PublishRefusedError as refused:  # the broker's ACL (docs/operations.md)
                if not self.refused:
                    log.warning("home assistant discovery: %s", refused)
                self.refused = str(refused)
                await asyncio.sleep(REFUSED_RETRY_S)
