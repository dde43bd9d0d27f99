"""Rates for the one endpoint that changes something: presses, and wrong admin tokens."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class RateLimit:
    """A token bucket: `burst` at once, then one per `every_s` seconds."""

    def __init__(
        self, burst: int = 10, every_s: float = 6.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst, self._every, self._clock = burst, every_s, clock
        self._tokens, self._at = float(burst), clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) / self._every)
        self._at = now

    def allow(self) -> bool:
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def wait_s(self) -> float:
        """Seconds until the next request would be allowed (0: now)."""
        self._refill()
        return max(0.0, (1 - self._tokens) * self._every)


class GuessLimit:
    """Wrong admin tokens, throttled per client address: a few mistakes, then one a minute.

    An address that has used up its guesses gets 429 before its token is even compared, so
    a guesser learns nothing more. The table is bounded: the oldest addresses are forgotten.
    """

    def __init__(
        self,
        burst: int = 5,
        every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 1024,
    ) -> None:
        self._burst, self._every, self._clock = burst, every_s, clock
        self._max = max_clients
        self._buckets: dict[str, RateLimit] = {}
        self._logged_at = float("-inf")
        self._unlogged = 0

    def _bucket(self, client: str) -> RateLimit:
        bucket = self._buckets.pop(client, None)
        if bucket is None:
            bucket = RateLimit(self._burst, self._every, self._clock)
            if len(self._buckets) >= self._max:
                del self._buckets[next(iter(self._buckets))]
        self._buckets[client] = bucket  # newest last
        return bucket

    def blocked_for(self, client: str) -> float:
        """Seconds this client must wait before its next guess (0: it may try)."""
        bucket = self._buckets.get(client)
        return 0.0 if bucket is None else bucket.wait_s()

    def wrong(self, client: str) -> None:
        self._bucket(client).allow()
        now = self._clock()
        if now - self._logged_at < 60.0:  # at most a line a minute, whoever guesses
            self._unlogged += 1
            return
        more = f" (and {self._unlogged} more since the last report)" if self._unlogged else ""
        log.warning("wrong admin token from %s%s", client, more)
        self._logged_at, self._unlogged = now, 0
