"""Each new board to every wallboard WebSocket, from one task.

A task per client woken for every board costs a task switch per client per board: with 50
TVs that was a millisecond and more before the last one had it. Here one task writes the
encoded board to each socket that keeps up, in one go (an uncompressed frame is written
without waiting). A socket whose send buffer backs up (a TV on a poor Wi-Fi) is taken out
and handed back to its own task, which waits for it to drain and then sends it the newest
board, never the ones in between, before it rejoins.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import WSMsgType, web

from appliance.signal import Latest

BACKLOG_LIMIT = 32 * 1024  # bytes unsent; below asyncio's 64 KiB high-water mark


@dataclass(slots=True)
class _Follower:
    transport: asyncio.BaseTransport | None
    behind: asyncio.Event


def _backed_up(transport: asyncio.BaseTransport | None) -> bool:
    if not isinstance(transport, asyncio.WriteTransport) or transport.is_closing():
        return True
    return transport.get_write_buffer_size() > BACKLOG_LIMIT


class BoardFanout:
    def __init__(self, views: Latest[bytes]) -> None:
        self._views = views
        self._live: dict[web.WebSocketResponse, _Follower] = {}
        self.skipped = 0  # boards a backed-up client did not get (it got a newer one)

    @property
    def clients(self) -> int:
        return len(self._live)

    async def follow(self, socket: web.WebSocketResponse, transport: asyncio.BaseTransport | None,
                     first: bytes) -> NoReturn:  # fmt: skip
        """Send `first`, then every newer board; while the client keeps up, `run` sends."""
        follower = _Follower(transport, asyncio.Event())
        version, body = self._views.version, first
        try:
            while True:
                await socket.send_frame(body, WSMsgType.TEXT)  # waits while backed up
                if self._views.version == version and not _backed_up(transport):
                    follower.behind.clear()
                    self._live[socket] = follower
                    await follower.behind.wait()
                version, body = self._views.version, self._views.value
        finally:
            self._live.pop(socket, None)

    async def run(self) -> NoReturn:
        seen = self._views.version
        while True:
            seen, body = await self._views.wait_newer(seen)
            for socket, follower in list(self._live.items()):
                if _backed_up(follower.transport):
                    del self._live[socket]
                    follower.behind.set()
                    self.skipped += 1
                    continue
                try:
                    # Never waits: the buffer is below the mark where aiohttp would drain.
                    await socket.send_frame(body, WSMsgType.TEXT)
                except ConnectionError:  # closing: its own task finds out and ends
                    del self._live[socket]
                    follower.behind.set()
