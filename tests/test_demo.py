"""`hotline demo` as a newcomer runs it: a URL, live numbers within seconds, Ctrl-C ends it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

from tests.support.mosquitto import free_port


def test_demo_shows_live_numbers_and_stops_cleanly_on_ctrl_c() -> None:
    port = free_port()
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance",
            "demo",
            "--listen",
            f"127.0.0.1:{port}",
            "--broker-port",
            str(free_port()),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:  # blocks until the demo prints; the test timeout bounds it
            lines.append(line)
            if "Wallboard:" in line:
                break
        assert f"http://127.0.0.1:{port}/" in "".join(lines)
        deadline = time.monotonic() + 10
        board: dict = {}
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/board") as reply:
                board = json.load(reply)
            if board["feed"] == "live" and len(board["queues"]) == 3 and board["agents"]:
                break
            time.sleep(0.1)  # polling a live HTTP endpoint under a deadline
        assert board["feed"] == "live", board
        assert board["queues"][0]["today"]["offered"] > 0  # mid-evening, not an empty day
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/demo/sign.png") as reply:
            assert reply.headers["Content-Type"] == "image/png"
            assert reply.read(8) == b"\x89PNG\r\n\x1a\n"
        desks = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/desks"))["desks"]
        assert [desk["desk"] for desk in desks] == ["desk-1", "desk-2"]
        screen = f"http://127.0.0.1:{port}/api/desks/desk-1/screen.png?scale=3"
        deadline = time.monotonic() + 10
        while not desks[0]["screen"]["frames"] and time.monotonic() < deadline:
            time.sleep(0.1)  # polling a live HTTP endpoint under a deadline
            desks = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/desks"))["desks"]
        with urllib.request.urlopen(screen) as reply:
            assert reply.read(8) == b"\x89PNG\r\n\x1a\n"
        pressed = urllib.request.Request(
            f"http://127.0.0.1:{port}/demo/desks/desk-1/press", method="POST"
        )
        with urllib.request.urlopen(pressed) as reply:  # noqa: S310 - a fixed http URL
            assert json.load(reply)["desk"] == "desk-1"
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=15)
    assert demo.returncode == 0, rest
    assert "Traceback" not in rest
