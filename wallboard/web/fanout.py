"""Each delta to every wallboard WebSocket, in the turn that made it.

A socket joins with a whole board (a snapshot, numbered as the stream stands), then gets
every delta after it. A task per client woken for every delta costs a task switch per
client: with 50 TVs that was a millisecond and more before the last one had it. Here the
delta's frame is made once (a server's frames are not masked, so every client gets the
same bytes) and written to each socket that keeps up, as the delta is published, before the
event loop does anything else. A socket whose send buffer backs up (a TV on a poor Wi-Fi),
or whose page asks for a resync, is taken out and handed back to its own task, which waits
for it to drain and sends it a fresh snapshot, never the deltas in between, before it
rejoins.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from aiohttp import WSMsgType, web

from appliance.runtime.latest import Latest

BACKLOG_LIMIT = 32 * 1024  # bytes unsent; below asyncio's 64 KiB high-water mark


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked WebSocket text frame (RFC 6455 §5.2), as servers send."""
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", 0x81, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", 0x81, 126, size) + payload
    return struct.pack("!BBQ", 0x81, 127, size) + payload


@dataclass(slots=True)
class _Follower:
    transport: asyncio.Transport | None
    behind: asyncio.Event


def _backed_up(transport: asyncio.Transport | None) -> bool:
    if transport is None or transport.is_closing():
        return True
    return transport.get_write_buffer_size() > BACKLOG_LIMIT


class BoardFanout:
    def __init__(self, deltas: Latest[bytes], snapshot: Callable[[], bytes]) -> None:
        self._deltas = deltas
        self._snapshot = snapshot
        self._live: dict[web.WebSocketResponse, _Follower] = {}
        self.skipped = 0  # deltas a backed-up client did not get (it got a snapshot)
        self.snapshots = 0  # whole boards sent: joins, catch-ups and resyncs

    @property
    def clients(self) -> int:
        return len(self._live)

    async def follow(
        self, socket: web.WebSocketResponse, transport: asyncio.Transport | None
    ) -> NoReturn:
        """Send a snapshot, then every delta; while the client keeps up, `run` sends."""
        follower = _Follower(transport, asyncio.Event())
        try:
            while True:
                body = self._snapshot()  # (it may step the stream: read the version after)
                version = self._deltas.version
                self.snapshots += 1
                # Waits only once aiohttp's own buffer is full: a client backed up less
                # than that gets a newer snapshot at once, a few at most.
                await socket.send_frame(body, WSMsgType.TEXT)
                if self._deltas.version == version and not _backed_up(transport):
                    follower.behind.clear()
                    self._live[socket] = follower
                    await follower.behind.wait()
        finally:
            self._live.pop(socket, None)

    def resync(self, socket: web.WebSocketResponse) -> None:
        """The page missed a delta (it says so): a fresh snapshot, then deltas again."""
        follower = self._live.pop(socket, None)
        if follower is not None:
            follower.behind.set()

    def _send(self, body: bytes) -> None:
        frame = text_frame(body)
        for socket, follower in list(self._live.items()):
            transport = follower.transport
            if transport is None or socket.closed or _backed_up(transport):
                del self._live[socket]  # its own task catches it up, or finds it closed
                follower.behind.set()
                self.skipped += 1
                continue
            transport.write(frame)

    async def run(self) -> None:
        """Send deltas to the clients that keep up, until cancelled (with the web server)."""
        with self._deltas.subscribed(self._send):
            await asyncio.Event().wait()
