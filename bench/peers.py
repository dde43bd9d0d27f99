"""Helper processes for the benchmark: a flood publisher and a bare subscriber (baseline).

    python -m bench.peers flood HOST PORT PREFIX COUNT
    python -m bench.peers bare HOST PORT PREFIX COUNT
    python -m bench.peers relay HOST PORT PREFIX WS_PORT BOARD_BYTES

`flood` publishes COUNT contract messages (QoS 0) as fast as paho can. `bare` subscribes
to the contract with aiomqtt (as the appliance does), decodes each payload with json.loads
and nothing more, and prints its rate: the rate Python can read the broker at all.
`relay` decodes each queue message and sends it, encoded again, to every WebSocket on
WS_PORT/ws with aiohttp: the latency Python and loopback give at all, measured the same way;
its `/` is a bare page showing the waiting count (the browser's floor).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import aiomqtt
import paho.mqtt.client as mqtt
from aiohttp import web


def payloads(prefix: str, count: int) -> list[tuple[str, bytes]]:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    messages = []
    for number in range(count):
        if number % 4:
            agent = f"b{number % 200}"
            body = {
                "v": 1,
                "agent": agent,
                "name": f"Agent {agent}",
                "site": "favrskov",
                "state": ("available", "busy", "paused", "wrap_up")[number % 4],
                "ts": now,
                "queues": ["borger"],
                "extension": str(3000 + number % 200),
            }
            messages.append((f"{prefix}/agents/{agent}", json.dumps(body).encode()))
        else:
            body = {
                "v": 1,
                "queue": "flood",
                "name": "Flood",
                "ts": now,
                "waiting": number % 9,
                "longest_wait_s": number % 300,
                "agents": {
                    "logged_in": 5,
                    "available": 1,
                    "ringing": 0,
                    "busy": 3,
                    "wrap_up": 0,
                    "paused": 1,
                },
            }
            messages.append((f"{prefix}/queues/flood", json.dumps(body).encode()))
    return messages


def flood(host: str, port: int, prefix: str, count: int) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    messages = payloads(prefix, count)
    started = time.perf_counter()
    for topic, body in messages:
        client.publish(topic, body, qos=0)
    while client.want_write():  # let the network thread drain
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    print(json.dumps({"published": count, "seconds": round(elapsed, 3)}), flush=True)


def bare(host: str, port: int, prefix: str, count: int) -> None:
    """The baseline: an aiomqtt subscriber that only decodes the JSON."""

    async def listen() -> dict[str, float | int | None]:
        async with aiomqtt.Client(host, port) as client:
            await client.subscribe([(f"{prefix}/queues/+", 0), (f"{prefix}/agents/+", 0)])
            print("ready", flush=True)
            received, first, cpu0 = 0, 0.0, 0.0
            async with asyncio.timeout(300):
                async for message in client.messages:
                    if not received:
                        first, cpu0 = time.perf_counter(), time.process_time()
                    json.loads(message.payload)  # type: ignore[arg-type]
                    received += 1
                    if received >= count:
                        break
            elapsed = time.perf_counter() - first
            cpu = time.process_time() - cpu0
            return {
                "received": received,
                "seconds": round(elapsed, 3),
                "rate": round(received / elapsed) if elapsed else None,
                "cpu_s_per_1000": cpu / received * 1000 if received else None,
            }

    print(json.dumps(asyncio.run(listen())), flush=True)


# The browser's floor: a page that puts the waiting count into one element, and no more.
BARE_PAGE = """<!doctype html><meta charset="utf-8"><div id="waiting">–</div><script>
const socket = new WebSocket(`ws://${location.host}/ws`);
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  const shown = document.getElementById("waiting");
  if (message.waiting !== undefined) shown.textContent = message.waiting;
};
</script>"""


def relay(host: str, port: int, prefix: str, ws_port: int, board_bytes: int) -> None:
    """The latency baseline: MQTT in, JSON out to every WebSocket, padded to `board_bytes`
    (the size of the appliance's board, so both move the same bytes)."""
    sockets: set[web.WebSocketResponse] = set()

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=BARE_PAGE, content_type="text/html")

    async def connect(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str("{}")  # as the appliance sends the board on connect
        sockets.add(socket)
        try:
            async for _ in socket:
                pass
        finally:
            sockets.discard(socket)
        return socket

    async def serve() -> None:
        app = web.Application()
        app.router.add_get("/ws", connect)
        app.router.add_get("/", page)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", ws_port).start()
        async with aiomqtt.Client(host, port) as client:
            await client.subscribe(f"{prefix}/queues/+")
            print("ready", flush=True)
            async for message in client.messages:
                board = json.loads(message.payload)  # type: ignore[arg-type]
                board["padding"] = "x" * max(0, board_bytes - len(message.payload))  # type: ignore[arg-type]
                text = json.dumps(board, separators=(",", ":"))
                for socket in list(sockets):
                    await socket.send_str(text)

    asyncio.run(serve())


if __name__ == "__main__":
    command, host, port, prefix, *numbers = sys.argv[1:]
    peers = {"flood": flood, "bare": bare, "relay": relay}
    peers[command](host, int(port), prefix, *map(int, numbers))  # type: ignore[operator]
