"""The notify protocol against a real datagram socket, as systemd would listen on it."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from appliance.core.contract import Topics
from appliance.drivers.systemd import Notifier
from appliance.programs.service import Appliance
from tests.conftest import make_config, running
from tests.support.mosquitto import Mosquitto


async def test_ready_status_watchdog_and_stopping(
    broker: Mosquitto, topics: Topics, tmp_path: Path
) -> None:
    path = str(tmp_path / "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.setblocking(False)
    loop = asyncio.get_running_loop()
    heard: list[str] = []

    async def hear(what: str) -> str:
        async with asyncio.timeout(10):
            while True:
                message = (await loop.sock_recv(listener, 4096)).decode()
                heard.append(message)
                if what in message:
                    return message

    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
    assert notifier.watchdog_s == 0.2
    async with running(Appliance(make_config(broker.url, topics), notifier=notifier)):
        ready = await hear("READY=1")
        assert "STATUS=" in ready
        await hear("WATCHDOG=1")
        await hear("WATCHDOG=1")  # again, from the event loop, at half the interval
    stopping = await hear("STOPPING=1")
    assert "STATUS=stopping" in stopping
    listener.close()


def test_without_systemd_it_says_nothing() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.watchdog_s is None
    notifier.ready("x")  # a no-op, not an error
    other = Notifier(
        {"NOTIFY_SOCKET": "@abstract", "WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    )
    assert other.watchdog_s is None  # the watchdog is for another process
    other.close()
