"""The WebSocket fan-out: every client gets the newest board; a stalled one never holds the
others up, and once it reads again it gets the newest board, not the backlog."""

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


def board(number: int) -> bytes:
    return json.dumps({"number": number, "padding": "x" * 4000}).encode()


@contextlib.asynccontextmanager
async def serving(fanout: BoardFanout, views: Latest[bytes]) -> AsyncIterator[str]:
    async def connect(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        raw = request.transport.get_extra_info("socket") if request.transport else None
        if raw is not None:  # a small send buffer, so a stalled reader backs up soon
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        async with asyncio.TaskGroup() as group:
            sender = group.create_task(fanout.follow(ws, request.transport, views.value))
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


async def newest(ws: aiohttp.ClientWebSocketResponse, wanted: int) -> int:
    while True:
        number = int(json.loads((await ws.receive(timeout=10)).data)["number"])
        if number >= wanted:
            return number


async def test_a_stalled_client_holds_nobody_up_and_catches_up_with_the_newest() -> None:
    views = Latest(board(0))
    fanout = BoardFanout(views)
    async with (
        serving(fanout, views) as url,
        aiohttp.ClientSession() as http,
        http.ws_connect(url) as fast,
        http.ws_connect(url) as stalled,
    ):
        assert await newest(fast, 0) == 0
        await until(lambda: fanout.clients == 2, what="both to join the broadcast")
        # The stalled client's reader stops taking data; its socket backs up.
        stalled._response.connection.transport.pause_reading()  # type: ignore[union-attr]
        for number in range(1, 301):
            views.publish(board(number))
            assert await newest(fast, number) == number  # the fast one is never held up
        assert fanout.skipped > 0
        stalled._response.connection.transport.resume_reading()  # type: ignore[union-attr]
        assert await newest(stalled, 300) == 300
        await until(lambda: fanout.clients == 2, what="the stalled one to rejoin")
        views.publish(board(301))
        assert await newest(stalled, 301) == 301
        assert await newest(fast, 301) == 301


async def test_frames_of_every_length_encoding_arrive_whole() -> None:
    # 7-bit, 16-bit and 64-bit payload lengths, at each boundary.
    sizes = [0, 125, 126, 65535, 65536, 200_000]
    views = Latest(b"{}")
    fanout = BoardFanout(views)
    async with (
        serving(fanout, views) as url,
        aiohttp.ClientSession() as http,
        http.ws_connect(url, max_msg_size=1 << 20) as client,
    ):
        assert (await client.receive(timeout=10)).data == "{}"
        await until(lambda: fanout.clients == 1, what="the client to join the broadcast")
        for size in sizes:
            body = b"x" * size
            views.publish(body)
            message = await client.receive(timeout=10)
            assert message.type == aiohttp.WSMsgType.TEXT
            assert message.data == body.decode()
            await until(lambda: fanout.clients == 1, what="the client to keep up")
