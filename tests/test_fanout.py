"""The WebSocket fan-out: every client gets every delta; a stalled one never holds the
others up, and once it reads again it gets a snapshot of the newest board, not the backlog."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from appliance.runtime.latest import Latest
from tests.conftest import until
from tests.support.tasks import beside
from wallboard.web.fanout import BoardFanout


def delta(number: int) -> bytes:
    return json.dumps({"type": "delta", "n": number, "padding": "x" * 4000}).encode()


class Stream:
    """Numbered deltas, and a snapshot as they stand (what wallboard.live publishes)."""

    def __init__(self) -> None:
        self.deltas = Latest(b"")
        self.number = 0

    def publish(self, body: bytes | None = None) -> None:
        self.number += 1
        self.deltas.publish(delta(self.number) if body is None else body)

    def snapshot(self) -> bytes:
        return json.dumps({"type": "board", "n": self.number}).encode()


@contextlib.asynccontextmanager
async def serving(fanout: BoardFanout) -> AsyncIterator[str]:
    async def connect(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        raw = request.transport.get_extra_info("socket") if request.transport else None
        if raw is not None:  # a small send buffer, so a stalled reader backs up soon
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        async with asyncio.TaskGroup() as group:
            sender = group.create_task(fanout.follow(ws, request.transport))
            async for _ in ws:
                pass
            sender.cancel()
        return ws

    app = web.Application()
    app.router.add_get("/ws", connect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with beside(fanout.run(), "fanout"):
            yield f"http://127.0.0.1:{port}/ws"
    finally:
        await runner.cleanup()


async def received(ws: aiohttp.ClientWebSocketResponse) -> tuple[str, int]:
    message = json.loads((await ws.receive(timeout=10)).data)
    return message["type"], int(message["n"])


async def caught_up(ws: aiohttp.ClientWebSocketResponse, wanted: int) -> tuple[str, int]:
    """Reads until the client has `wanted` (as a delta or in a snapshot), checking that the
    deltas it is given follow on from what it has, without a gap."""
    kind, number = await received(ws)
    while number < wanted:
        kind, following = await received(ws)
        assert kind == "board" or following == number + 1, (kind, number, following)
        number = following
    return kind, number


async def test_a_stalled_client_holds_nobody_up_and_catches_up_with_a_snapshot() -> None:
    stream = Stream()
    fanout = BoardFanout(stream.deltas, stream.snapshot)
    async with (
        serving(fanout) as url,
        aiohttp.ClientSession() as http,
        http.ws_connect(url) as fast,
        http.ws_connect(url) as stalled,
    ):
        assert await received(fast) == ("board", 0)
        assert await received(stalled) == ("board", 0)
        await until(lambda: fanout.clients == 2, what="both to join the broadcast")
        # The stalled client's reader stops taking data; its socket backs up.
        stalled._response.connection.transport.pause_reading()  # type: ignore[union-attr]
        for number in range(1, 301):
            stream.publish()
            assert await received(fast) == ("delta", number)  # never held up, none missed
        assert fanout.skipped > 0
        stalled._response.connection.transport.resume_reading()  # type: ignore[union-attr]
        # What it had read before it stalled, then a snapshot of the newest: no gap.
        assert await caught_up(stalled, 300) == ("board", 300)
        await until(lambda: fanout.clients == 2, what="the stalled one to rejoin")
        stream.publish()
        assert await received(stalled) == ("delta", 301)
        assert await received(fast) == ("delta", 301)


async def test_frames_of_every_length_encoding_arrive_whole() -> None:
    # 7-bit, 16-bit and 64-bit payload lengths, at each boundary.
    sizes = [0, 125, 126, 65535, 65536, 200_000]
    stream = Stream()
    fanout = BoardFanout(stream.deltas, stream.snapshot)
    async with (
        serving(fanout) as url,
        aiohttp.ClientSession() as http,
        http.ws_connect(url, max_msg_size=1 << 20) as client,
    ):
        assert await received(client) == ("board", 0)
        await until(lambda: fanout.clients == 1, what="the client to join the broadcast")
        for size in sizes:
            body = b"x" * size
            stream.publish(body)
            message = await client.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.TEXT
            assert message.data == body.decode()
            await until(lambda: fanout.clients == 1, what="the client to keep up")
