"""`make soak`: minutes of faults against one appliance, checking what every display says.

    python -m bench.soak [--minutes 3] [--json bench/soak.json]

Around the appliance: a real Mosquitto, the simulator as its own process, the sign
emulator on a pty, two desks on mock pins with luma OLEDs, the history on a small disk of
its own. The faults take turns: the broker stopped and restarted (three times, seconds
apart), the feed frozen with SIGSTOP, and then every optional output broken in turn: the
sign unplugged, the OLEDs failing (OSError, luma's DeviceNotFoundError and an
AssertionError, a kind each time), the desks' GPIO pins failing, the disk full. Four times
a second the soak compares the displays with the truth it knows:

- broker down for 3 s: the board says "disconnected" and shows no numbers;
- feed frozen for longer than stale_after_s + 3 s: no queue shows numbers;
- an optional output broken: the board stays live with numbers throughout, and after
  3 s the broken output says so on /healthz (the sign, the OLEDs, the history);
- 12 s after the last fault: the board is live with numbers, the sign shows them, and
  every output reports ok.

A desk is pressed every 1.5 s (desk-2 serves an agent of another site, whose presses
the phone system refuses, so every outcome occurs). At the end every accepted press must
be in the history with an outcome, the appliance must still be running, and its memory
flat. Exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory
from luma.core.error import DeviceNotFoundError

from appliance.core.desk import Request
from appliance.core.hours import always_open_toml
from appliance.drivers.store import Store
from appliance.programs.configuration import parse_config
from appliance.programs.service import Appliance
from appliance.programs.sign_emulator import PtySign, SignEmulator
from bench.suite import rss_mb
from tests.support import disk as small_disk
from tests.support.flaky import FlakyOled, FlakyPin
from tests.support.mosquitto import Mosquitto

STALE_AFTER_S = 20.0
FAULTS = ("broker", "feed", "sign", "oled", "gpio", "disk")
OPTIONAL = frozenset({"sign", "oled", "gpio", "disk"})  # the board must stay live meanwhile
FAULT_S = {
    "broker": 4.0,
    "feed": STALE_AFTER_S + 8,
    "sign": 8.0,
    "oled": 8.0,
    "gpio": 8.0,
    "disk": 10.0,
}
# The outputs' names on /healthz, by the fault that breaks them.
REPORTED_AS = {"sign": "sign", "oled": "oled ", "gpio": "desk desk-", "disk": "history"}
# Each time the OLEDs break, they break another way: a loose wire, a display that is gone,
# a frame luma will not take.
OLED_FAILURES = (
    OSError(121, "Remote I/O error"),
    DeviceNotFoundError("I2C device not found on address: 0x3C"),
    AssertionError("image size does not match device size"),
)
BROKER_RESTARTS = 3  # per turn: down 4 s, up 3 s, three times over
QUIET_S = 14.0  # between faults; the last 2 s of it are checked as "recovered"


def config_text(broker: Mosquitto, sign: Path, state: Path) -> str:
    desks = "".join(
        f'[[desks]]\nid = "desk-{n}"\nagent = "a{2100 + n}"\nbutton = "GPIO{16 + n}"\n'
        f'led = "GPIO{20 + n}"\noled = "desk-{n}"\n[[oled]]\nname = "desk-{n}"\n'
        for n in (1, 2)
    )
    return f"""
[site]
id = "favrskov"
[mqtt]
url = "{broker.url}"
stale_after_s = {STALE_AFTER_S}
connect_timeout_s = 3
[web]
listen = "127.0.0.1:0"
[history]
state_dir = "{state}"
flush_interval_s = 5
[sign]
port = "{sign}"
[desk_settings]
request_expiry_s = 10
min_available = 0
{desks}{always_open_toml()}"""


class Soak:
    def __init__(self, minutes: float, workdir: Path, disk: small_disk.SmallDisk | None) -> None:
        self.deadline = time.monotonic() + minutes * 60
        self.workdir = workdir
        self.disk = disk
        self.broker = Mosquitto(workdir / "broker")
        self.sign_link = workdir / "wallboard"
        self.emulator = SignEmulator()
        self.pty: PtySign | None = None
        self.sign_task: asyncio.Task[Any] | None = None
        self.simulator: subprocess.Popen[bytes] | None = None
        self.active: dict[str, float] = {}  # fault -> monotonic start
        self.last_fault_end = time.monotonic()
        self.violations: Counter[str] = Counter()
        self.examples: dict[str, str] = {}
        self.checks: Counter[str] = Counter()
        self.accepted = 0
        self.refused = 0
        self.rss: list[tuple[float, float]] = []
        self.oled_faults = 0
        self.app: Appliance | None = None

    # --- the parts --------------------------------------------------------------------

    def start_simulator(self) -> None:
        self.simulator = subprocess.Popen(
            [sys.executable, "-m", "appliance", "simulate", "--broker", self.broker.url,
             "--calls-per-hour", "400", "--on-duty", "20", "--seed", "7"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def plug_sign(self) -> None:
        self.emulator = SignEmulator()
        self.pty = PtySign(self.emulator, self.sign_link)
        self.sign_task = asyncio.create_task(self.pty.serve())

    def unplug_sign(self) -> None:
        assert self.sign_task is not None
        assert self.pty is not None
        self.sign_task.cancel()
        self.pty.close()

    async def fault(self, name: str) -> None:
        if name == "broker":  # restarted every few seconds
            for _ in range(BROKER_RESTARTS - 1):
                await self._fault_once(name)
                await asyncio.sleep(3)
        await self._fault_once(name)

    def _failures(self, fault: str) -> int:
        """How often the outputs this fault breaks have reported a failure so far."""
        assert self.app is not None
        prefix = REPORTED_AS.get(fault)
        failures = self.app.outputs.failures
        return sum(n for name, n in failures.items() if prefix and name.startswith(prefix))

    async def _fault_once(self, name: str) -> None:
        self.active[name] = time.monotonic()
        failures_before = self._failures(name)
        await self._break(name)
        await asyncio.sleep(FAULT_S[name])
        if name in REPORTED_AS:  # the broken output said so (health, /metrics), while broken
            grew = self._failures(name) - failures_before
            self.expect(f"{name} broken: reported as {REPORTED_AS[name]}…", grew > 0,
                        f"{grew} failures reported")  # fmt: skip
        await self._repair(name)
        del self.active[name]
        self.last_fault_end = time.monotonic()

    async def _break(self, name: str) -> None:
        match name:
            case "broker":
                await asyncio.to_thread(self.broker.stop)
            case "feed":
                assert self.simulator is not None
                self.simulator.send_signal(signal.SIGSTOP)
            case "sign":
                self.unplug_sign()
            case "oled":
                FlakyOled.failure = OLED_FAILURES[self.oled_faults % len(OLED_FAILURES)]
                self.oled_faults += 1
            case "gpio":
                FlakyPin.failing = True
            case "disk":
                assert self.disk is not None
                await asyncio.to_thread(self.disk.fill)

    async def _repair(self, name: str) -> None:
        match name:
            case "broker":
                await asyncio.to_thread(self.broker.start)
            case "feed":
                assert self.simulator is not None
                self.simulator.send_signal(signal.SIGCONT)
            case "sign":
                self.plug_sign()
            case "oled":
                FlakyOled.failure = None
            case "gpio":
                FlakyPin.failing = False
            case "disk":
                assert self.disk is not None
                self.disk.free()

    # --- the checks -------------------------------------------------------------------

    def expect(self, check: str, holds: bool, detail: str) -> None:
        self.checks[check] += 1
        if not holds:
            self.violations[check] += 1
            self.examples.setdefault(check, detail)

    def check(self, app: Appliance) -> None:
        now = time.monotonic()
        board = json.loads(app.views.render())
        numbers = [q["waiting"] for q in board["queues"] if q["waiting"] is not None]
        summary = f"feed={board['feed']} numbers={numbers} faults={sorted(self.active)}"
        if "broker" in self.active and now - self.active["broker"] > 3:
            self.expect("broker down: disconnected, no numbers",
                        board["feed"] == "disconnected" and not numbers, summary)  # fmt: skip
        if "feed" in self.active and now - self.active["feed"] > STALE_AFTER_S + 3:
            self.expect("feed frozen: no numbers", not numbers, summary)
        broken = set(self.active)
        if broken and broken <= OPTIONAL:
            self.expect(f"{'+'.join(sorted(broken))} broken: board live with numbers",
                        board["feed"] == "live" and bool(numbers), summary)  # fmt: skip
        if not self.active and now - self.last_fault_end > QUIET_S - 2:
            self.expect("recovered: live with numbers", board["feed"] == "live" and bool(numbers),
                        summary)  # fmt: skip
            sign = " ".join(screen.text for screen in self.emulator.shown.value)
            self.expect("recovered: the sign shows the numbers", "VENTER" in sign, sign)
            failing = {name: why for name, (ok, why) in app.outputs.states.items() if not ok}
            self.expect("recovered: every output ok", not failing, str(failing))
            self.expect("recovered: history written", app.desks.history_error == "",
                        app.desks.history_error)  # fmt: skip

    async def press(self, app: Appliance, count: int) -> None:
        decision = await app.desks.press(f"desk-{1 + count % 2}", 0.1)
        if isinstance(decision, Request):
            self.accepted += 1
        else:
            self.refused += 1

    # --- the run ----------------------------------------------------------------------

    async def run(self, app: Appliance, task: asyncio.Task[None]) -> None:
        self.app = app
        faults = [f for f in FAULTS if f != "disk" or self.disk is not None]
        async with asyncio.TaskGroup() as group:
            group.create_task(self._faults(faults))
            ticks = 0
            while time.monotonic() < self.deadline or self.active:
                self.expect("the appliance keeps running", not task.done(), "it stopped")
                self.check(app)
                ticks += 1
                if ticks % 6 == 0:
                    await self.press(app, ticks // 6)
                if ticks % 40 == 0:
                    self.rss.append((time.monotonic(), rss_mb(os.getpid())))
                await asyncio.sleep(0.25)

    async def _faults(self, faults: list[str]) -> None:
        turn = 0
        await asyncio.sleep(QUIET_S)
        while time.monotonic() < self.deadline - QUIET_S:
            await self.fault(faults[turn % len(faults)])
            turn += 1
            await asyncio.sleep(QUIET_S)


@contextlib.contextmanager
def history_disk() -> Iterator[small_disk.SmallDisk | None]:
    if not small_disk.available():
        print("disk fault skipped: mounting a small disk needs root", file=sys.stderr)
        yield None
        return
    with small_disk.mounted() as disk:
        yield disk


async def main_async(minutes: float, out: Path) -> int:
    with tempfile.TemporaryDirectory(prefix="hotline-soak-") as work, history_disk() as disk:
        workdir = Path(work)
        soak = Soak(minutes, workdir, disk)
        soak.broker.start()
        soak.start_simulator()
        soak.plug_sign()
        state = disk.path if disk is not None else workdir / "state"
        config = parse_config(config_text(soak.broker, soak.sign_link, state))
        pins = MockFactory(pin_class=FlakyPin)
        app = Appliance(config, pin_factory=pins, oled_factory=lambda c: FlakyOled(
            width=c.width, height=c.height))  # fmt: skip
        task = asyncio.create_task(app.run())
        try:
            async with asyncio.timeout(15):
                await app.ready.wait()
            await soak.run(app, task)
            await asyncio.sleep(12)  # the last presses expire or settle, the disk catches up
            presses = Store(config.history.database).presses()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            pins.close()
            if soak.simulator is not None:
                soak.simulator.send_signal(signal.SIGCONT)
                soak.simulator.terminate()
                soak.simulator.wait(timeout=10)
            soak.broker.stop()
            soak.unplug_sign()
    settled = sum(press["outcome"] is not None for press in presses)
    soak.expect("every accepted press recorded", len(presses) == soak.accepted,
                f"{len(presses)} recorded of {soak.accepted}")  # fmt: skip
    soak.expect("every press settled", settled == len(presses), f"{settled} of {len(presses)}")
    first, last = soak.rss[len(soak.rss) // 4][1], soak.rss[-1][1]
    soak.expect("memory flat", last <= first * 1.10 + 2, f"{first:.1f} -> {last:.1f} MB")
    report = {
        "minutes": minutes,
        "checks": dict(soak.checks),
        "violations": dict(soak.violations),
        "examples": soak.examples,
        "presses": {
            "accepted": soak.accepted,
            "refused": soak.refused,
            "recorded": len(presses),
            "outcomes": dict(Counter(p["outcome"] for p in presses)),
            "errors": dict(Counter(p["error"] for p in presses if p["error"])),
        },
        "rss_mb": {"after_warm_up": first, "end": last},
    }
    out.write_text(json.dumps(report, indent=2) + "\n")
    width = max(len(check) for check in soak.checks)
    for check, count in sorted(soak.checks.items()):
        failed = soak.violations.get(check, 0)
        verdict = "ok" if not failed else f"VIOLATED {failed}x: {soak.examples[check]}"
        print(f"{check:<{width}}  {count:>5} checks  {verdict}")
    print(f"presses: {report['presses']}")
    print(f"RSS after warm-up {first:.1f} MB, at the end {last:.1f} MB")
    return 1 if soak.violations else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--json", type=Path, default=Path("bench/soak.json"))
    args = parser.parse_args()
    sys.exit(asyncio.run(main_async(args.minutes, args.json)))


if __name__ == "__main__":
    main()
