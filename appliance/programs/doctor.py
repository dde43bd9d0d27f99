"""`hotline doctor`: for a technician at the real Pi, everything the appliance needs,
checked and explained in plain words (Danish or English).

Each check says what it found and, when something is wrong, what to do about it: the
config, every broker with the appliance's own login, the clock, each OLED on its bus and
address, the sign's port, the GPIO chip, the disk, the HDMI kiosk. It exits 1 on any
problem. What it touches is injected (`Machine`), so the tests give it absent buses, a
dead broker, a wrong password and an unsynchronised clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import aiomqtt
import msgspec

from appliance.core.config import Config, OledConfig, broker_name, read_secret
from appliance.core.errors import ConfigError, HotlineError
from appliance.drivers.mqtt import describe_error, login
from appliance.drivers.timesync import clock_synchronised
from appliance.programs.configuration import load_config

Language = Literal["da", "en"]
MIN_FREE_BYTES = 200 * 1024 * 1024  # history, the journal and an upgrade's room
MIN_FREE_SHARE = 0.05
BROKER_TIMEOUT_S = 8.0


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    ok: bool
    da: str
    en: str

    def said(self, language: Language) -> str:
        return self.da if language == "da" else self.en


def _systemctl(*args: str) -> str | None:
    """systemctl's answer, or None where there is no systemd to ask."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        return None
    done = subprocess.run(  # noqa: S603 - systemctl with this module's own arguments
        [systemctl, *args], capture_output=True, text=True, timeout=10, check=False
    )
    return done.stdout.strip()


def open_oled(config: OledConfig) -> None:
    """Open the display on its bus and let it go again (luma's own drivers)."""
    from appliance.drivers.oled import make_device  # noqa: PLC0415 - luma only when asked

    device = make_device(config)
    device.persist = True  # let go without clearing or switching off the panel
    with contextlib.suppress(Exception):
        device.cleanup()


def service_outputs(config: Config) -> dict[str, tuple[bool, str]] | None:
    """The running service's own word on its outputs (/healthz), or None if not running."""
    host, _, port = config.web.listen.rpartition(":")
    everywhere = ("", "0.0.0.0", "::", "[::]")  # noqa: S104 - read, not bound: the service's
    host = "127.0.0.1" if host in everywhere else host.strip("[]")
    scheme = "https" if config.web.tls_cert_file else "http"
    try:
        with urllib.request.urlopen(f"{scheme}://{host}:{port}/healthz", timeout=5) as reply:  # noqa: S310 - our own
            body = json.load(reply)
    except urllib.error.HTTPError as unhealthy:  # 503: unhealthy, and says why
        body = json.load(unhealthy)
    except (OSError, ValueError):
        return None
    outputs = body.get("health", {}).get("outputs", [])
    return {o["name"]: (o["status"] == "ok", o.get("message") or "") for o in outputs}


def open_sign(config: Config) -> None:
    from appliance.drivers.serial_sign import open_port  # noqa: PLC0415

    open_port(config.sign).close()


@dataclass
class Machine:
    """What the doctor looks at; the real machine unless a test says otherwise."""

    synchronised: Callable[[], bool | None] = clock_synchronised
    systemctl: Callable[..., str | None] = _systemctl
    open_oled: Callable[[OledConfig], None] = open_oled
    open_sign: Callable[[Config], None] = open_sign
    service_outputs: Callable[[Config], dict[str, tuple[bool, str]] | None] = service_outputs
    devices: Path = Path("/dev")
    disk_usage: Callable[[Path], Any] = shutil.disk_usage


def check_config(path: str) -> tuple[Config | None, Finding]:
    try:
        config = load_config(path)
    except ConfigError as error:
        problems = "; ".join(error.problems)
        return None, Finding("config", False, f"{path} har fejl: {problems}",
                             f"{path} has mistakes: {problems}")  # fmt: skip
    except (OSError, HotlineError) as error:
        return None, Finding("config", False, f"{path} kan ikke læses: {error}",
                             f"{path} cannot be read: {error}")  # fmt: skip
    where = f"{config.site.id} ({config.site.appliance})"
    return config, Finding("config", True, f"{path} er i orden: center {where}",
                           f"{path} is valid: site {where}")  # fmt: skip


async def check_brokers(config: Config) -> list[Finding]:
    findings = []
    who = config.mqtt.username or "(anonym)"
    for url in config.mqtt.urls:
        name = broker_name(url)
        broker = config.mqtt.on(url)
        broker = msgspec.structs.replace(
            broker, connect_timeout_s=min(broker.connect_timeout_s, BROKER_TIMEOUT_S)
        )
        secret = broker.password_file
        if secret:
            try:
                read_secret(secret)
            except (OSError, IndexError) as error:
                why = "er tom" if isinstance(error, IndexError) else f"kan ikke læses ({error})"
                why_en = (
                    "is empty" if isinstance(error, IndexError) else f"cannot be read ({error})"
                )
                findings.append(Finding("broker", False, f"adgangskodefilen {secret} {why}",
                                        f"the password file {secret} {why_en}"))  # fmt: skip
                continue
        try:
            async with login(broker, f"hotline-doctor-{secrets.token_hex(4)}"):
                pass
        except (aiomqtt.MqttError, OSError, ValueError) as error:
            why = describe_error(error)
            if "refused the login" in why:
                da = (
                    f"brokeren {name} afviser login som {who}: forkert brugernavn eller "
                    "adgangskode (mqtt.username, mqtt.password_file)"
                )
                en = (
                    f"the broker {name} refuses the login as {who}: wrong user name or "
                    "password (mqtt.username, mqtt.password_file)"
                )
            else:
                da = (
                    f"brokeren {name} kan ikke nås: {why}. Tjek netværket, adressen og "
                    "om brokeren kører"
                )
                en = (
                    f"the broker {name} cannot be reached: {why}. Check the network, the "
                    "address and whether the broker runs"
                )
            findings.append(Finding("broker", False, da, en))
        else:
            findings.append(Finding("broker", True, f"brokeren {name} svarer, login som {who}",
                                    f"the broker {name} answers, login as {who}"))  # fmt: skip
    return findings


def check_clock(config: Config, machine: Machine) -> Finding:
    if config.site.trust_clock:
        return Finding("clock", True, "uret stoles på (site.trust_clock)",
                       "the clock is trusted (site.trust_clock)")  # fmt: skip
    synced = machine.synchronised()
    if synced is None:
        return Finding("clock", True, "uret: systemd-timesyncd kører ikke her",
                       "the clock: systemd-timesyncd does not run here")  # fmt: skip
    if synced:
        return Finding("clock", True, "uret er synkroniseret", "the clock is synchronised")
    return Finding(
        "clock", False,
        "uret er ikke synkroniseret: en Pi har intet batteriur. Tjek netværket og "
        "'timedatectl timesync-status' (systemd-timesyncd skal kunne nå en NTP-server; "
        "på et lukket net: ntp.txt på boot-partitionen)",
        "the clock is not synchronised: a Pi has no battery clock. Check the network and "
        "'timedatectl timesync-status' (systemd-timesyncd must reach an NTP server; on a "
        "closed network: ntp.txt on the boot partition)",
    )  # fmt: skip


def _oled_where(oled: OledConfig) -> str:
    if oled.interface == "i2c":
        return f"I2C-bus {oled.i2c_port}, adresse 0x{oled.i2c_address:02X}"
    return f"SPI {oled.spi_port}.{oled.spi_device}"


def check_oleds(config: Config, machine: Machine) -> list[Finding]:
    findings = []
    running = machine.service_outputs(config) if config.oled else None
    for oled in config.oled:
        if oled.driver == "dummy":
            continue
        where = _oled_where(oled)
        where_en = where.replace("adresse", "address")
        if running is not None:  # the service has the display: ask it, do not touch it
            ok, message = running.get(f"oled {oled.name}", (False, "not started"))
            said_da = "tjenesten viser på den" if ok else message
            said_en = "the service shows on it" if ok else message
            findings.append(Finding("oled", ok, f"OLED {oled.name} på {where}: {said_da}",
                                    f"OLED {oled.name} on {where_en}: {said_en}"))  # fmt: skip
            continue
        try:
            machine.open_oled(oled)
        except Exception as error:  # noqa: BLE001 - whatever luma raises is the finding
            text = describe_error(error)
            kind = type(error).__name__
            if isinstance(error, ImportError):
                da = (
                    f"OLED {oled.name}: et bibliotek mangler ({text}): apt install "
                    "python3-spidev python3-lgpio"
                )
                en = (f"OLED {oled.name}: a library is missing ({text}): apt install "
                      "python3-spidev python3-lgpio")  # fmt: skip
            elif kind == "DeviceNotFoundError" or "No such file" in text:
                bus = "I2C" if oled.interface == "i2c" else "SPI"
                da = (
                    f"OLED {oled.name}: {where} findes ikke ({text}). Slå {bus} til "
                    "(docs/deployment.md) og genstart"
                )
                en = (f"OLED {oled.name}: {where_en} does not exist ({text}). Turn {bus} on "
                      "(docs/deployment.md) and reboot")  # fmt: skip
            elif kind == "DevicePermissionError" or "ermission" in text:
                da = (
                    f"OLED {oled.name}: ingen adgang til {where} ({text}): er brugeren "
                    "hotline i gruppen i2c/spi/gpio?"
                )
                en = (f"OLED {oled.name}: no access to {where_en} ({text}): is the user "
                      "hotline in the group i2c/spi/gpio?")  # fmt: skip
            else:
                da = (
                    f"OLED {oled.name} svarer ikke på {where} ({text}): tjek ledningerne og "
                    "adressen (i2cdetect -y 1)"
                )
                en = (f"OLED {oled.name} does not answer on {where_en} ({text}): check the "
                      "wiring and the address (i2cdetect -y 1)")  # fmt: skip
            findings.append(Finding("oled", False, da, en))
        else:
            findings.append(Finding("oled", True, f"OLED {oled.name} svarer på {where}",
                                    f"OLED {oled.name} answers on {where_en}"))  # fmt: skip
    return findings


def check_sign(config: Config, machine: Machine) -> list[Finding]:
    port = config.sign.port
    if not port:
        return []
    try:
        machine.open_sign(config)
    except Exception as error:  # noqa: BLE001 - pyserial's, the OS's: the finding
        text = describe_error(error)
        missing = "No such file" in text or "[Errno 2]" in text
        da = (
            (
                f"skiltets port {port} findes ikke ({text}): er USB-adapteren sat i? "
                "(udevadm info -n /dev/ttyUSB0)"
            )
            if missing
            else f"skiltets port {port} kan ikke åbnes ({text}): er hotline i gruppen dialout?"
        )
        en = (
            (
                f"the sign's port {port} does not exist ({text}): is the USB adapter plugged "
                "in? (udevadm info -n /dev/ttyUSB0)"
            )
            if missing
            else f"the sign's port {port} cannot be opened ({text}): is hotline in group dialout?"
        )
        return [Finding("sign", False, da, en)]  # fmt: skip
    return [Finding("sign", True, f"skiltets port {port} kan skrives til",
                    f"the sign's port {port} is writable")]  # fmt: skip


def check_gpio(config: Config, machine: Machine) -> list[Finding]:
    if not config.desks:  # no buttons, no LEDs
        return []
    chips = sorted(machine.devices.glob("gpiochip*"))
    if not chips:
        return [Finding("gpio", False, f"ingen GPIO-chip i {machine.devices} (gpiochip*)",
                        f"no GPIO chip in {machine.devices} (gpiochip*)")]  # fmt: skip
    closed = [str(chip) for chip in chips if not os.access(chip, os.R_OK | os.W_OK)]
    if len(closed) == len(chips):
        names = ", ".join(closed)
        return [Finding("gpio", False,
                        f"ingen adgang til {names}: er hotline i gruppen gpio (udev-reglen)?",
                        f"no access to {names}: is hotline in the group gpio (the udev rule)?",
                        )]  # fmt: skip
    return [Finding("gpio", True, f"GPIO: {chips[0]} kan bruges", f"GPIO: {chips[0]} is usable")]


SERVICE_STATE = Path("/var/lib/hotline")  # the unit's StateDirectory


def check_disk(config: Config, machine: Machine) -> Finding:
    # Outside the unit STATE_DIRECTORY is unset: the service's own place where it exists.
    where = SERVICE_STATE if SERVICE_STATE.is_dir() else Path(config.history.database).parent
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = machine.disk_usage(where)
    free_mb = usage.free // (1024 * 1024)
    if usage.free < MIN_FREE_BYTES or usage.free < usage.total * MIN_FREE_SHARE:
        return Finding("disk", False,
                       f"kun {free_mb} MB fri på {where}: ryd op (journalctl --vacuum-size)",
                       f"only {free_mb} MB free on {where}: make room (journalctl "
                       "--vacuum-size)")  # fmt: skip
    return Finding("disk", True, f"{free_mb} MB fri på {where}", f"{free_mb} MB free on {where}")


def check_kiosk(machine: Machine) -> list[Finding]:
    enabled = machine.systemctl("is-enabled", "hotline-kiosk.service")
    if enabled is None or enabled not in ("enabled", "enabled-runtime"):
        return []  # no systemd, or no kiosk on this appliance
    active = machine.systemctl("is-active", "hotline-kiosk.service")
    if active == "active":
        return [Finding("kiosk", True, "kiosken på HDMI kører", "the HDMI kiosk runs")]
    return [Finding("kiosk", False,
                    f"kiosken på HDMI kører ikke ({active}): journalctl -u hotline-kiosk",
                    f"the HDMI kiosk is not running ({active}): journalctl -u hotline-kiosk",
                    )]  # fmt: skip


async def examine(path: str, machine: Machine) -> tuple[Config | None, list[Finding]]:
    config, found = check_config(path)
    findings = [found]
    if config is None:
        return None, findings
    findings += await check_brokers(config)
    findings.append(check_clock(config, machine))
    findings += check_oleds(config, machine)
    findings += check_sign(config, machine)
    findings += check_gpio(config, machine)
    findings.append(check_disk(config, machine))
    findings += check_kiosk(machine)
    return config, findings


def report(findings: list[Finding], language: Language) -> str:
    lines = [f"{'OK  ' if f.ok else 'FEJL' if language == 'da' else 'FAIL'} {f.said(language)}"
             for f in findings]  # fmt: skip
    problems = sum(not f.ok for f in findings)
    if language == "da":
        lines.append("Alt er i orden." if not problems else f"{problems} problem(er).")
    else:
        lines.append("All is well." if not problems else f"{problems} problem(s).")
    return "\n".join(lines)


def _as_service_user(args: argparse.Namespace) -> None:
    """As root, look as the service does: its groups decide what it may open."""
    runuser = shutil.which("runuser")
    try:
        pwd.getpwnam("hotline")
    except KeyError:
        return
    if os.geteuid() != 0 or runuser is None or getattr(args, "as_root", False):
        return
    command = [runuser, "-u", "hotline", "--", sys.executable, "-m", "appliance", "doctor",
               "--config", args.config]  # fmt: skip
    command += ["--language", args.language] if args.language else []
    command += ["--json"] if args.json else []
    sys.stdout.flush()
    os.execv(runuser, command)  # noqa: S606 - runuser with this program's own arguments


def run_doctor(args: argparse.Namespace, machine: Machine | None = None) -> int:
    if machine is None:
        _as_service_user(args)
    config, findings = asyncio.run(examine(args.config, machine or Machine()))
    language: Language = args.language or (config.web.language if config else "da")
    if args.json:
        print(json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=1))
    else:
        print(report(findings, language))
    sys.stdout.flush()
    return 0 if all(f.ok for f in findings) else 1


def add_doctor_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = commands.add_parser("doctor", help="check this appliance and explain what is wrong")
    doctor.add_argument("--config", default="/etc/hotline/hotline.toml")
    doctor.add_argument("--language", choices=("da", "en"), help="default: the config's")
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument("--as-root", action="store_true",
                        help="check as root (default: as the service user hotline)")  # fmt: skip
    doctor.set_defaults(handler=run_doctor)
