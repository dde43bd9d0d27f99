"""A call for help: the queues that have been critical for `[staffing] help_after_s`.

Each such queue is published with how many agents it lacks (agents needed now less those
on the phones, at least one), so the desks of the standby staff on the rota can ask them
in; a queue leaves the call as soon as it is no longer critical. The alarm level is the
view's, so a closed hotline or a queue without live numbers never calls anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import NoReturn

from appliance.core.clock import Clock
from appliance.runtime.latest import Latest
from wallboard.view import BoardView, QueueView


def lacking(queue: QueueView) -> int:
    """Agents the queue lacks now; one if agents needed is not known yet."""
    staffing = queue.staffing
    if staffing is None or staffing.needed is None:
        return 1
    return max(1, staffing.needed - staffing.serving)


class HelpCalls:
    def __init__(self, views: Latest[BoardView], clock: Clock, help_after_s: float) -> None:
        self._views = views
        self._clock = clock
        self._after = help_after_s
        self._critical_since: dict[str, float] = {}
        self.wanted: Latest[dict[str, int]] = Latest({})  # queue → agents lacking

    def update(self) -> float | None:
        """Publish the queues that want help now; seconds until another may (or None)."""
        now = self._clock.monotonic()
        critical = {q.queue: q for q in self._views.value.queues if q.level == "critical"}
        for queue in list(self._critical_since):
            if queue not in critical:
                del self._critical_since[queue]
        for queue in critical:
            self._critical_since.setdefault(queue, now)
        wanted, soonest = {}, None
        for queue, since in self._critical_since.items():
            due = since + self._after - now
            if due <= 0:
                wanted[queue] = lacking(critical[queue])
            elif soonest is None or due < soonest:
                soonest = due
        if wanted != self.wanted.value:
            self.wanted.publish(wanted)
        return soonest

    async def run(self) -> NoReturn:
        changed = asyncio.Event()
        with self._views.subscribed(lambda _view: changed.set()):
            while True:
                changed.clear()
                wake_in = self.update()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(None if wake_in is None else wake_in + 0.01):
                        await changed.wait()
