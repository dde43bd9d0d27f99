"""A latest-value broadcast: readers wake on a newer version and skip what they missed."""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class Latest(Generic[T]):
    """Holds the newest value; any number of readers await values newer than theirs.

    A slow reader never queues up stale values: it gets the newest one, which is what
    a display wants (coalescing for free).
    """

    def __init__(self, value: T) -> None:
        self.value = value
        self.version = 0
        self._changed = asyncio.Event()

    def publish(self, value: T) -> None:
        self.value = value
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_newer(self, version: int) -> tuple[int, T]:
        while self.version <= version:
            await self._changed.wait()
        return self.version, self.value
