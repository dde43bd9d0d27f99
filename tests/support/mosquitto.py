"""A real Mosquitto broker on a free loopback port, with its own config and data."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port}") from None
            time.sleep(0.02)  # polling a condition, bounded by the deadline


class Mosquitto:
    """Start, stop and restart a broker; retained messages persist across restarts."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        listener_options: str = "",
        anonymous: bool = True,
        extra_config: str = "",
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.listener_options = listener_options
        self.anonymous = anonymous
        self.extra_config = extra_config
        self.process: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        config = self.workdir / "mosquitto.conf"
        # As root, mosquitto would drop to its own user, who may not write our directory.
        user = "user root\n" if os.geteuid() == 0 else ""
        config.write_text(
            f"{user}"
            f"per_listener_settings false\n"
            f"listener {self.port} 127.0.0.1\n"
            f"{self.listener_options}\n"
            f"allow_anonymous {str(self.anonymous).lower()}\n"
            f"persistence true\n"
            f"persistence_location {self.workdir}/\n"
            f"log_dest file {self.workdir}/mosquitto.log\n"
            f"max_packet_size 2000000\n"
            f"{self.extra_config}\n"
        )
        return config

    def start(self) -> None:
        config = self.write_config()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves retained messages
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
