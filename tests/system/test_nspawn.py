"""The Debian package on a booted Debian bookworm, under real systemd (`make system-test`).

A debootstrapped root (cached in /var/cache/hotline-build/nspawn) boots with systemd-nspawn,
its own network and its own Mosquitto. The amd64 build of the package is installed the
way a technician does it, config on the "boot partition", and then:

- first boot takes the config from /boot/firmware into /etc/hotline;
- the service is active (Type=notify: READY came) with a STATUS line, health answers;
- kill -9 gets it restarted; a wedged event loop (SIGSTOP) gets it killed by the watchdog
  and restarted (a drop-in shortens WatchdogSec to 6 s to keep the test short);
- the service cannot write outside its state directory; exposure at most 2.0;
- an upgrade keeps config and history; purge removes them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path("/var/cache/hotline-build/nspawn")
PACKAGES = "systemd,systemd-sysv,dbus,python3,python3-venv,mosquitto,mosquitto-clients,curl"
BASE = CACHE / "bookworm-v1"  # a new name when PACKAGES changes

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="booting a container needs root"),
    # Building the package, installing it and booting take minutes, the first time more.
    pytest.mark.timeout(900),
]

CONFIG = """
[site]
id = "favrskov"
name = "Favrskov Borgerservice"
appliance = "nspawn"

[mqtt]
url = "mqtt://127.0.0.1:1883"

[web]
listen = "127.0.0.1:8080"
admin_token_file = "admin.token"
"""
WATCHDOG_DROP_IN = "[Service]\nWatchdogSec=6\nTimeoutAbortSec=2\n"


def base_root() -> Path:
    """Debian bookworm with systemd, made once and kept (about 300 MB, a minute)."""
    if (BASE / ".complete").exists():
        return BASE
    shutil.rmtree(BASE, ignore_errors=True)
    BASE.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(BASE),
         "http://deb.debian.org/debian"],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    (BASE / ".complete").touch()
    return BASE


class BootError(AssertionError):
    pass


class Container:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.console = root.with_name("console.log")
        self.process: subprocess.Popen[bytes] | None = None
        self.leader = 0
        self.compiled_on_install: set[str] = set()  # the service's cache, before it ran

    def prepare(self, *command: str) -> None:
        """Run a command in the root before it boots (as an image build would)."""
        subprocess.run(
            ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-D", str(self.root),
             *command],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def boot(self, timeout: float = 90) -> None:
        """Boot and wait for systemd; on failure halt and raise BootError saying why."""
        with self.console.open("wb") as console:
            self.process = subprocess.Popen(
                ["systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--boot",
                 "--private-network", "--console=read-only", "-D", str(self.root)],
                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            self.leader = int(wait_for(self._leader, "the container's init", 30))
            wait_for(
                lambda: (
                    self.sh("systemctl is-system-running").stdout.strip() in ("running", "degraded")
                ),
                "systemd to finish booting",
                timeout,
            )
        except AssertionError as error:
            why = f"{error}\n{self.diagnostics()}"
            self.halt()
            raise BootError(why) from None

    def diagnostics(self) -> str:
        assert self.process is not None
        code = self.process.poll()
        lines = [f"systemd-nspawn: {'running' if code is None else f'exit {code}'}"]
        if self.leader and code is None:
            state = self.sh(
                "systemctl is-system-running; systemctl list-jobs --no-pager; "
                "systemctl --failed --no-pager"
            )
            lines += ["in the container:", state.stdout + state.stderr]
        console = re.sub(r"\x1b\[[0-9;]*m", "", self.console.read_text(errors="replace"))
        printed = [line for line in console.splitlines() if line.strip()]
        lines += ["console (last 40 lines):", *printed[-40:]]
        return "\n".join(lines)

    def _leader(self) -> int | None:
        """The container's systemd: nspawn's child named systemd (a helper it forks first
        comes and goes, so the first child is not it)."""
        assert self.process is not None
        children = subprocess.run(
            ["ps", "-o", "pid=,comm=", "--ppid", str(self.process.pid)],
            capture_output=True, text=True, check=False,
        ).stdout.splitlines()  # fmt: skip
        inits = [int(pid) for pid, comm in map(str.split, children) if comm == "systemd"]
        return inits[0] if inits else None

    def sh(self, command: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", "-t", str(self.leader), "-a", "sh", "-c", command],
            capture_output=True, text=True, check=check, timeout=120,
        )  # fmt: skip

    def unit(self, name: str = "hotline.service") -> dict[str, str]:
        text = self.sh(
            f"systemctl show {name} -p ActiveState -p SubState -p MainPID -p NRestarts "
            "-p StatusText"
        ).stdout
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def halt(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # nspawn halts the container
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_for(probe: Callable[[], object], what: str, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)  # polling another machine's systemd, no event to wait on
    raise AssertionError(f"timed out waiting for {what}")


def copy_of_base(directory: Path) -> Container:
    root = directory / "root"
    subprocess.run(["cp", "-a", "--reflink=auto", str(base_root()), str(root)], check=True)
    return Container(root)


def skip_unless_containers_boot(directory: Path) -> None:
    """Tell a machine that cannot boot systemd in a container (a CI sandbox without the
    cgroups systemd needs, say) from a package that breaks the boot: boot bare Debian."""
    bare = copy_of_base(directory)
    try:
        bare.boot(timeout=60)
    except BootError as failure:
        pytest.skip(f"this machine cannot boot a systemd container: {failure}")
    finally:
        bare.halt()
        shutil.rmtree(bare.root, ignore_errors=True)


def build_package(arch: str, out: Path) -> Path:
    built = subprocess.run(
        [sys.executable, str(ROOT / "deb/build.py"), "--arch", arch, "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (deb,) = out.glob(f"*_{arch}.deb")
    return deb


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package("amd64", tmp_path_factory.mktemp("deb"))


def test_the_pi_package_carries_aarch64_wheels_where_wheels_are_platform_specific(
    tmp_path: Path,
) -> None:
    deb = build_package("arm64", tmp_path)
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True,
                          check=True)  # fmt: skip
    assert "Architecture: arm64" in info.stdout
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True).stdout  # fmt: skip
    wheels = re.findall(r"\./opt/hotline/wheels/(\S+\.whl)", contents)
    pure = [w for w in wheels if w.endswith("-none-any.whl")]
    specific = [w for w in wheels if w not in pure]
    assert any(w.startswith("hotline-") for w in pure)
    assert {w.split("-")[0] for w in specific} >= {"aiohttp", "msgspec", "immutables", "pillow"}
    assert all("aarch64" in w for w in specific), specific
    for unit in ("hotline.service", "hotline-firstboot.service", "hotline-bridge.service"):
        assert f"./lib/systemd/system/{unit}" in contents


@pytest.fixture(scope="module")
def container(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    machine = copy_of_base(tmp_path_factory.mktemp("machine"))
    root = machine.root
    shutil.copy(package, root / "hotline.deb")
    machine.prepare("dpkg", "-i", "/hotline.deb")
    cache = root / "var/cache/hotline/pycache"
    machine.compiled_on_install = {f"/{p.relative_to(cache)}" for p in cache.rglob("*.pyc")}
    boot = root / "boot/firmware"
    boot.mkdir(parents=True)
    (boot / "hotline.toml").write_text(CONFIG)
    (boot / "admin.token").write_text("t0ken\n")
    drop_in = root / "etc/systemd/system/hotline.service.d"
    drop_in.mkdir(parents=True)
    (drop_in / "test-watchdog.conf").write_text(WATCHDOG_DROP_IN)
    try:
        machine.boot()
    except BootError:
        skip_unless_containers_boot(tmp_path_factory.mktemp("bare"))
        raise
    try:
        yield machine
    finally:
        machine.halt()
        shutil.rmtree(root, ignore_errors=True)


def test_first_boot_takes_the_config_from_the_boot_partition(container: Container) -> None:
    assert not (container.root / "boot/firmware/hotline.toml").exists()
    assert not (container.root / "boot/firmware/admin.token").exists()
    listing = container.sh("stat -c '%a %U:%G' /etc/hotline/hotline.toml /etc/hotline/admin.token")
    assert listing.stdout.split("\n")[:2] == ["640 root:hotline", "640 root:hotline"]


def test_the_service_is_ready_with_a_status_and_health(container: Container) -> None:
    state = wait_for(
        lambda: (u := container.unit())["ActiveState"] == "active" and u["StatusText"] and u,
        "hotline to be active with a status",
        30,
    )
    assert isinstance(state, dict)
    assert state["SubState"] == "running"
    queue = {"v": 1, "queue": "borger", "ts": "2026-11-28T18:00:00+01:00", "waiting": 3,
             "longest_wait_s": 40}  # fmt: skip
    published = container.sh(
        "mosquitto_pub -h 127.0.0.1 -r -q 1 -t hotline/v1/system/status -m online && "
        f"mosquitto_pub -h 127.0.0.1 -r -q 1 -t hotline/v1/queues/borger -m '{json.dumps(queue)}'"
    )
    assert published.returncode == 0, (
        published.stderr
        + container.sh(
            "systemctl status mosquitto --no-pager; journalctl -u mosquitto --no-pager | tail"
        ).stdout
    )
    health = wait_for(
        lambda: (r := container.sh("curl -sf 127.0.0.1:8080/healthz")).returncode == 0 and r,
        "a healthy /healthz",
        20,
    )
    assert json.loads(health.stdout)["health"]["mqtt_connected"] is True  # type: ignore[union-attr]
    board = json.loads(container.sh("curl -s 127.0.0.1:8080/api/board").stdout)
    assert board["queues"][0]["waiting"] == 3


def test_the_service_runs_optimised_from_its_own_compiled_cache(container: Container) -> None:
    """-OO (3 MB less), from compiled files postinst made before the service first ran."""
    environ = container.sh(f"cat /proc/{container.unit()['MainPID']}/environ").stdout
    assert "PYTHONOPTIMIZE=2" in environ.split("\0")
    for module in ("/opt/hotline/venv/lib/python3.11/site-packages/appliance/programs/service",
                   "/usr/lib/python3.11/asyncio/base_events"):  # fmt: skip
        assert f"{module}.cpython-311.opt-2.pyc" in container.compiled_on_install, module
    cache = "/var/cache/hotline/pycache"
    assert container.sh(f"stat -c %U {cache}").stdout.strip() == "hotline"


def _restarted(container: Container, before: dict[str, str], count: int) -> dict[str, str]:
    def done() -> dict[str, str] | None:
        unit = container.unit()
        fresh = unit["MainPID"] not in ("0", before["MainPID"])
        if int(unit["NRestarts"]) >= count and unit["ActiveState"] == "active" and fresh:
            return unit
        return None

    return wait_for(done, f"restart number {count}", 60)  # type: ignore[return-value]


def test_kill_9_and_a_wedged_loop_are_restarted(container: Container) -> None:
    before = container.unit()
    restarts = int(before["NRestarts"])
    container.sh(f"kill -9 {before['MainPID']}", check=True)
    after_kill = _restarted(container, before, restarts + 1)
    container.sh(f"kill -STOP {after_kill['MainPID']}", check=True)  # the loop stops
    _restarted(container, after_kill, restarts + 2)
    journal = container.sh("journalctl -u hotline --no-pager").stdout
    assert "Watchdog timeout" in journal


def test_the_service_writes_only_its_state_and_cache_directories(container: Container) -> None:
    pid = container.unit()["MainPID"]
    ids = container.sh("id -u hotline; id -g hotline").stdout.split()
    as_service = f"nsenter -t {pid} -m -S {ids[0]} -G {ids[1]} --"
    for inside in ("/var/lib/hotline/probe", "/var/cache/hotline/probe"):
        assert container.sh(f"{as_service} touch {inside}").returncode == 0, inside
    for outside in ("/etc/hotline/probe", "/opt/hotline/probe", "/usr/probe", "/root/probe"):
        result = container.sh(f"{as_service} touch {outside}")
        assert result.returncode != 0, outside
    exposure = container.sh("systemd-analyze security hotline.service").stdout
    level = re.search(r"Overall exposure level for hotline.service: ([0-9.]+)", exposure)
    assert level is not None
    assert float(level.group(1)) <= 2.0


def test_upgrade_keeps_config_and_history_and_purge_removes_them(container: Container) -> None:
    config = container.sh("cat /etc/hotline/hotline.toml").stdout
    assert container.sh("test -s /var/lib/hotline/hotline.db").returncode == 0
    container.sh("dpkg -i /hotline.deb", check=True)  # the same version again: an upgrade
    assert container.sh("cat /etc/hotline/hotline.toml").stdout == config
    assert container.sh("test -s /var/lib/hotline/hotline.db").returncode == 0
    wait_for(lambda: container.unit()["ActiveState"] == "active", "active after upgrade", 30)
    container.sh("dpkg --purge hotline", check=True)
    for gone in ("/etc/hotline", "/var/lib/hotline", "/opt/hotline", "/var/cache/hotline"):
        assert container.sh(f"test -e {gone}").returncode != 0, gone


# Cold, stage 1 is debootstrapped and configured under emulation first (about 30 minutes).
@pytest.mark.timeout(3000)
def test_the_arm64_package_boots_in_an_arm64_container(tmp_path: Path) -> None:
    """The Pi's own build on the image's own root (deb/image.py's stage 1, cached), booted
    under systemd-nspawn with qemu-user through binfmt_misc: READY, a STATUS, /healthz."""
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("no qemu-aarch64 in binfmt_misc (scripts/image-deps.sh sets it up)")
    sys.path.insert(0, str(ROOT / "deb"))
    import image  # noqa: PLC0415 - deb/image.py, a build script, not a package

    deb = build_package("arm64", tmp_path / "deb")
    machine = Container(tmp_path / "root")
    subprocess.run(["cp", "-a", str(image.stage1()), str(machine.root)], check=True)
    shutil.copy(deb, machine.root / "hotline.deb")
    machine.prepare("dpkg", "-i", "/hotline.deb")  # its dependencies are in stage 1
    boot = machine.root / "boot/firmware"
    boot.mkdir(parents=True, exist_ok=True)
    (boot / "hotline.toml").write_text(CONFIG.replace('admin_token_file = "admin.token"\n', ""))
    try:
        machine.boot(timeout=600)  # systemd and Python under emulation: minutes, not seconds
        state = wait_for(
            lambda: (u := machine.unit())["ActiveState"] == "active" and u["StatusText"] and u,
            "hotline (arm64) to be active with a status",
            300,
        )
        assert isinstance(state, dict)
        assert machine.sh("uname -m").stdout.strip() == "aarch64"
        health = wait_for(
            lambda: (r := machine.sh("curl -s 127.0.0.1:8080/healthz")).stdout and r,
            "/healthz from the arm64 appliance",
            60,
        )
        assert "health" in json.loads(health.stdout)  # type: ignore[union-attr]
    finally:
        machine.halt()
        shutil.rmtree(machine.root, ignore_errors=True)
