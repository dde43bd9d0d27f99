"""The fleet as one appliance hears it: every appliance's retained status and health."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from appliance.core.clock import Clock
from appliance.core.contract import Topics
from appliance.core.fleet import Fleet, fold, rows
from appliance.runtime.latest import Latest


class FleetWatch:
    """Takes the fleet's messages (`on_message` says whether a topic was one of them)."""

    def __init__(self, topics: Topics, clock: Clock) -> None:
        self._topics = topics
        self._clock = clock
        self.fleet: Latest[Fleet] = Latest({})

    def on_message(self, topic: str, payload: bytes) -> bool:
        where = self._topics.fleet_topic(topic)
        if where is None:
            return False
        site, appliance, kind = where
        self.fleet.publish(fold(self.fleet.value, site, appliance, kind, payload,
                                now=self._clock.now()))  # fmt: skip
        return True

    def report(self) -> dict[str, Any]:
        """`GET /api/fleet`: every appliance, the ones in trouble first."""
        now = self._clock.now()
        return {
            "generated_at": now.isoformat(timespec="seconds"),
            "appliances": [asdict(row) for row in rows(self.fleet.value, now)],
        }
