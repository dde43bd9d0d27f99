"""A lean latency probe: publish → the board on every WebSocket, timed from outside.

    python -m bench.probe MQTT_PORT WS_PORT PREFIX CLIENTS MESSAGES RATE [queue|agent]

A process of its own with raw sockets (MQTT 3.1.1 PUBLISH written by hand, WebSocket
frames read by hand, one epoll), so what it measures is the appliance and the network
between, not an asyncio client's own work: with 50 aiohttp clients in one event loop the
client's decoding alone took several milliseconds per message. A board's arrival is the
kernel's receive timestamp of its bytes (SO_TIMESTAMPNS), not when this process got round
to reading them: with 50 sockets read one after another, the probe's own turn would count.
Prints one JSON line: {"sent": [CLOCK_REALTIME at each publish, s], "ws_ms": [latency to
the last client], "bytes": [size of the message that carried it]}; the kernel stamps with
CLOCK_REALTIME, so the probe sends by it too. `queue` (the default) changes a queue's
waiting count; `agent` one agent's pause reason: a single agent's change.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = 35  # Linux; Python's socket module does not name it
TIMESPEC = struct.Struct("@qq")


def _remaining_length(size: int) -> bytes:
    encoded = bytearray()
    while True:
        size, digit = divmod(size, 128)
        encoded.append(digit | (0x80 if size else 0))
        if not size:
            return bytes(encoded)


def mqtt_connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client_id = f"probe-{os.getpid()}".encode()
    body = b"\x00\x04MQTT\x04\x02\x00\x3c" + len(client_id).to_bytes(2, "big") + client_id
    sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
    if sock.recv(4)[:1] != b"\x20":
        raise SystemExit("no CONNACK from the broker")
    return sock


def mqtt_publish(topic: str, payload: bytes) -> bytes:
    name = topic.encode()
    body = len(name).to_bytes(2, "big") + name + payload
    return b"\x30" + _remaining_length(len(body)) + body


class BoardSocket:
    """A WebSocket client that reads the server's (unmasked, unfragmented) frames and
    answers its pings."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self.sock.recv(4096)
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise SystemExit(f"no WebSocket: {head[:200]!r}")
        self.sock.setblocking(False)

    def frames(self) -> list[tuple[float, bytes]]:
        """The whole frames completed by this read, each with the kernel's time of arrival."""
        arrived = time.time()
        with contextlib.suppress(BlockingIOError):
            data, ancillary, _, _ = self.sock.recvmsg(1 << 16, socket.CMSG_SPACE(TIMESPEC.size))
            self.buffer += data
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    seconds, nanoseconds = TIMESPEC.unpack(value[: TIMESPEC.size])
                    arrived = seconds + nanoseconds / 1e9
        found = []
        while len(self.buffer) >= 2:
            size, start = self.buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < start + size:
                break
            opcode, payload = self.buffer[0] & 0x0F, self.buffer[start : start + size]
            self.buffer = self.buffer[start + size :]
            if opcode == 0x9:  # ping (the server's heartbeat): pong, masked as clients must
                mask = os.urandom(4)
                masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
                self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask + masked)
            else:
                found.append((arrived, payload))
        return found


def queue_payload(waiting: int) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    body = {"v": 1, "queue": "borger", "name": "Borgere", "ts": now, "waiting": waiting,
            "longest_wait_s": 30}  # fmt: skip
    return json.dumps(body).encode()


def agent_payload(number: int) -> bytes:
    now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    body = {"v": 1, "agent": "probe", "name": "Probe Agent", "site": "favrskov",
            "state": "paused", "reason": f"p{number}", "ts": now, "queues": ["borger"]}  # fmt: skip
    return json.dumps(body).encode()


def change(prefix: str, mode: str, number: int) -> tuple[bytes, bytes]:
    """The MQTT packet for change `number`, and the bytes that show it arrived."""
    if mode == "agent":
        packet = mqtt_publish(f"{prefix}/agents/probe", agent_payload(number))
        return packet, f'"reason":"p{number}"'.encode()
    waiting = 100 + number
    packet = mqtt_publish(f"{prefix}/queues/borger", queue_payload(waiting))
    return packet, f'"waiting":{waiting},'.encode()


def measure(
    mqtt_port: int, ws_port: int, prefix: str, clients: int, messages: int, rate: float,
    mode: str = "queue",
) -> dict[str, list[float]]:  # fmt: skip
    boards = [BoardSocket(ws_port) for _ in range(clients)]
    selector = selectors.DefaultSelector()
    for board in boards:
        selector.register(board.sock, selectors.EVENT_READ, board)
    deadline = time.monotonic() + 10
    waiting_for = set(boards)
    while waiting_for and time.monotonic() < deadline:  # the board each gets on connect
        for key, _ in selector.select(1):
            if key.data.frames():
                waiting_for.discard(key.data)
    publisher = mqtt_connect(mqtt_port)
    sent_at: list[float] = []
    latencies: list[float] = []
    sizes: list[float] = []
    for number in range(messages):
        packet, marker = change(prefix, mode, number)
        sent = time.time()
        publisher.sendall(packet)
        sent_at.append(sent)
        missing, last, size = set(boards), sent, 0
        deadline = time.monotonic() + 10
        while missing and time.monotonic() < deadline:
            for key, _ in selector.select(1):
                for arrived, frame in key.data.frames():
                    if marker in frame:
                        missing.discard(key.data)
                        last = max(last, arrived)
                        size = len(frame)
        if missing:
            raise SystemExit(f"message {number}: {len(missing)} clients never saw it")
        latencies.append((last - sent) * 1000)
        sizes.append(size)
        time.sleep(max(0.0, 1 / rate - (time.time() - sent)))
    publisher.sendall(b"\xe0\x00")  # DISCONNECT
    return {"sent": sent_at, "ws_ms": latencies, "bytes": sizes}


if __name__ == "__main__":
    mqtt_port, ws_port, prefix, clients, messages, rate = sys.argv[1:7]
    mode = sys.argv[7] if len(sys.argv) > 7 else "queue"
    result = measure(int(mqtt_port), int(ws_port), prefix, int(clients), int(messages),
                     float(rate), mode)  # fmt: skip
    print(json.dumps(result), flush=True)
