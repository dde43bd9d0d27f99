"""The SD-card image booted under emulation (`make image-test`, after `make image`).

`qemu-system-aarch64 -M virt -cpu cortex-a53` boots the image's own kernel and initramfs
(from its FAT partition) with the card as a virtio disk, a broker on this machine
(10.0.2.2 from inside), the wallboard's port forwarded out, and a virtio GPU for the
kiosk's HDMI. The technician's files go onto the FAT partition as from a PC (mtools), and:

- first boot takes hotline.toml from the FAT partition, and the host name;
- hotline is READY (systemd says "Started" only then), /healthz answers, /api/board
  follows the broker;
- the kiosk shows the wallboard on the emulated display (a screendump over QMP);
- a second boot comes up the same way, the config kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from PIL import Image

from tests.support import payloads
from tests.support.mosquitto import Mosquitto, free_port

ROOT = Path(__file__).resolve().parents[2]
QEMU = "qemu-system-aarch64"
FAT_OFFSET = 4 * 1024 * 1024  # deb/image.py: the FAT partition starts at 4 MiB
BOOT_S = 600.0  # a cold first boot under TCG: keys, the venv's first imports, Chromium

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the image test runs as root"),
    pytest.mark.skipif(shutil.which(QEMU) is None, reason="no qemu-system-aarch64"),
    pytest.mark.timeout(2400),
]


def built_image() -> Path:
    images = list((ROOT / "dist").glob("hotline-*-raspi-arm64.img.xz"))
    if not images:
        pytest.fail("no image in dist/: run `make image` first")
    return max(images, key=lambda image: image.stat().st_mtime)  # the one just built


def mtools(*command: str, image: Path) -> str:
    done = subprocess.run(
        [*command[:1], "-i", f"{image}@@{FAT_OFFSET}", *command[1:]],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The image as written to a card, 1 GiB larger than built (the root grows into it)."""
    place = tmp_path_factory.mktemp("card") / "card.img"
    with place.open("wb") as out:
        subprocess.run(["xz", "-dc", str(built_image())], stdout=out, check=True)
    with place.open("r+b") as file:
        file.truncate(place.stat().st_size + (1 << 30))
    return place


class Machine:
    """One emulated Pi: qemu with the card, its console in a file, QMP for the display."""

    def __init__(self, card: Path, work: Path, web_port: int) -> None:
        self.card, self.work, self.web_port = card, work, web_port
        self.console = work / "console.log"
        self.qmp_path = work / "qmp.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def boot(self) -> None:
        names = mtools("mdir", "-b", "::/", image=self.card).split()
        kernel = next(n for n in names if n.lstrip(":/").startswith("vmlinuz-"))
        initrd = next(n for n in names if n.lstrip(":/").startswith("initrd.img-"))
        for name, local in ((kernel, "vmlinuz"), (initrd, "initrd.img")):
            subprocess.run(["mcopy", "-o", "-i", f"{self.card}@@{FAT_OFFSET}", name,
                            str(self.work / local)], check=True)  # fmt: skip
        self.console.unlink(missing_ok=True)
        self.qmp_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [QEMU, "-M", "virt", "-cpu", "cortex-a53", "-smp", "2", "-m", "1536",
             "-kernel", str(self.work / "vmlinuz"), "-initrd", str(self.work / "initrd.img"),
             # The journal on the console too: systemd logs "Started hotline.service"
             # when the appliance said READY (Type=notify), after boot's status lines end.
             "-append", "root=LABEL=RASPIROOT rw rootwait console=ttyAMA0 "
                        "systemd.show_status=1 systemd.journald.forward_to_console=1",
             "-drive", f"file={self.card},format=raw,if=none,id=card",
             "-device", "virtio-blk-pci,drive=card",
             "-netdev", f"user,id=net,hostfwd=tcp:127.0.0.1:{self.web_port}-:8080",
             "-device", "virtio-net-pci,netdev=net,romfile=",  # no PXE ROM: it boots a kernel
             "-device", "virtio-gpu-pci,xres=1280,yres=720", "-display", "none",
             "-serial", f"file:{self.console}", "-qmp", f"unix:{self.qmp_path},server,nowait",
             "-no-reboot"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def said(self, text: str) -> bool:
        """Whether the console printed `text` (systemd's colours taken out)."""
        if not self.console.exists():
            return False
        printed = re.sub(r"\x1b\[[0-9;]*m", "", self.console.read_text(errors="replace"))
        return text in printed

    def qmp(self, command: str, **arguments: Any) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX) as connection:
            connection.settimeout(30)
            connection.connect(str(self.qmp_path))
            stream = connection.makefile("rw")
            stream.readline()  # the greeting
            for message in ({"execute": "qmp_capabilities"},
                            {"execute": command, "arguments": arguments}):  # fmt: skip
                stream.write(json.dumps(message) + "\n")
                stream.flush()
                while True:
                    reply: dict[str, Any] = json.loads(stream.readline())
                    if "return" in reply or "error" in reply:
                        break
            return reply

    def screen(self) -> Image.Image:
        dump = self.work / "screen.ppm"
        dump.unlink(missing_ok=True)
        self.qmp("screendump", filename=str(dump))
        return Image.open(dump).convert("RGB")

    def power_off(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.qmp("system_powerdown")
        try:
            self.process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def wait_until(condition: Any, timeout: float, what: str, machine: Machine) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if machine.process is not None and machine.process.poll() is not None:
            raise AssertionError(f"qemu ended while waiting for {what}:\n{tail(machine)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f} s, still no {what}:\n{tail(machine)}")
        time.sleep(1.0)  # a boot under emulation: polling its console and its port


def tail(machine: Machine) -> str:
    if not machine.console.exists():
        return "(no console output)"
    return "\n".join(machine.console.read_text(errors="replace").splitlines()[-40:])


def healthz(port: int) -> dict[str, Any] | None:
    async def ask() -> dict[str, Any] | None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
                http.get(f"http://127.0.0.1:{port}/healthz") as reply,
            ):
                body: dict[str, Any] = await reply.json()
                return body
        return None

    return asyncio.run(ask())


def board(port: int) -> dict[str, Any]:
    async def ask() -> dict[str, Any]:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.get(f"http://127.0.0.1:{port}/api/board") as reply,
        ):
            body: dict[str, Any] = await reply.json()
            return body

    return asyncio.run(ask())


def publish(broker: Mosquitto, prefix: str, waiting: int) -> None:
    async def send() -> None:
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.publish(f"{prefix}/system/status", b"online", qos=1, retain=True)
            queue = payloads.queue(waiting=waiting)
            await client.publish(f"{prefix}/queues/borger", queue, qos=1, retain=True)

    asyncio.run(send())


def retained(broker: Mosquitto, topic: str) -> bytes | None:
    async def read() -> bytes | None:
        async with aiomqtt.Client("127.0.0.1", broker.port) as client:
            await client.subscribe(topic, qos=1)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(3):
                    async for message in client.messages:
                        return bytes(message.payload)  # type: ignore[arg-type]
        return None

    return asyncio.run(read())


@pytest.fixture
def machine(card: Path, tmp_path: Path) -> Iterator[Machine]:
    emulated = Machine(card, tmp_path, free_port())
    try:
        yield emulated
    finally:
        emulated.power_off()


def test_the_image_boots_takes_its_config_serves_and_shows_the_wallboard(
    machine: Machine, card: Path, tmp_path: Path
) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    try:
        prefix = "hotline/v1"
        publish(broker, prefix, waiting=4)
        config = tmp_path / "hotline.toml"
        config.write_text(
            '[site]\nid = "favrskov"\nname = "Favrskov Borgerservice"\n'
            f'[mqtt]\nurl = "mqtt://10.0.2.2:{broker.port}"\n'
            '[web]\nlisten = "0.0.0.0:8080"\n'
        )
        (tmp_path / "hostname.txt").write_text("favrskov-1\n")
        for name in ("hotline.toml", "hostname.txt"):  # as a technician's PC writes them
            subprocess.run(["mcopy", "-o", "-i", f"{card}@@{FAT_OFFSET}", str(tmp_path / name),
                            f"::/{name}"], check=True)  # fmt: skip

        machine.boot()
        wait_until(lambda: healthz(machine.web_port) is not None, BOOT_S, "/healthz", machine)
        # It connects when the network comes (it does not wait for it to start).
        wait_until(lambda: (healthz(machine.web_port) or {}).get("health", {})
                   .get("mqtt_connected") is True, 120, "the broker", machine)  # fmt: skip
        wait_until(lambda: machine.said("Started hotline.service"), 60, "READY", machine)
        # The config came from the FAT partition, and the host name too: the appliance id
        # defaults to the host name.
        status = f"{prefix}/sites/favrskov/appliances/favrskov-1/status"
        assert retained(broker, status) == b"online"
        publish(broker, prefix, waiting=7)
        wait_until(lambda: board(machine.web_port)["queues"][0]["waiting"] == 7, 30,
                   "the board following the broker", machine)  # fmt: skip

        # The kiosk: Chromium in cage on the virtio GPU shows the wallboard (dark, with
        # the queue's figures), not a console or a blank screen.
        def wallboard_shown() -> bool:
            # The wallboard's own colours, not a console's greys: its dark blue ground
            # (style.css) over most of the screen, and colour (not grey) somewhere.
            small = machine.screen().resize((64, 36))
            data = small.tobytes()
            pixels = [tuple(data[i : i + 3]) for i in range(0, len(data), 3)]
            ground = sum(1 for r, g, b in pixels if b > r + 5 and r < 60 and g < 70)
            coloured = sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 60)
            return ground > len(pixels) // 3 and coloured > 0

        wait_until(wallboard_shown, BOOT_S, "the wallboard on the HDMI output", machine)
        machine.screen().save(tmp_path / "kiosk.png")
        shutil.copyfile(tmp_path / "kiosk.png", ROOT / "dist" / "image-kiosk.png")

        machine.power_off()
        # Read with the machine off (its writes are on the card): the files were taken.
        listing = mtools("mdir", "-b", "::/", image=card)
        assert "hotline.toml" not in listing
        assert "hostname.txt" not in listing
        machine.boot()  # the second boot: the same, with the config kept
        wait_until(lambda: healthz(machine.web_port) is not None, BOOT_S, "/healthz again",
                   machine)  # fmt: skip
        assert board(machine.web_port)["queues"][0]["waiting"] == 7
    finally:
        machine.power_off()
        broker.stop()
