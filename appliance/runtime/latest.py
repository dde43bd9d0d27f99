"""A latest-value broadcast: readers wake on a newer version and skip what they missed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Latest(Generic[T]):
    """Holds the newest value; any number of readers await values newer than theirs.

    A slow reader never queues up stale values: it gets the newest one, which is what
    a display wants (coalescing for free). A reader that must act in the publisher's own
    turn (the wallboard: a board goes out before the event loop does anything else)
    subscribes instead; it is called synchronously and must neither block nor raise.
    """

    def __init__(self, value: T) -> None:
        self.value = value
        self.version = 0
        self._changed = asyncio.Event()
        self._subscribers: list[Callable[[T], None]] = []

    def publish(self, value: T) -> None:
        self.value = value
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()
        for subscriber in self._subscribers:
            subscriber(value)

    async def wait_newer(self, version: int) -> tuple[int, T]:
        while self.version <= version:
            await self._changed.wait()
        return self.version, self.value

    @contextmanager
    def subscribed(self, subscriber: Callable[[T], None]) -> Iterator[None]:
        """Call `subscriber` with each value published while the block runs."""
        self._subscribers.append(subscriber)
        try:
            yield
        finally:
            self._subscribers.remove(subscriber)
