"""`hotline install-config`: take the technician's config from the boot partition.

A technician writes `hotline.toml` (and the files it names: broker password, CA
certificate, admin token) onto the SD card's boot partition from any PC. At boot,
hotline-firstboot.service runs this: the files move to /etc/hotline with tight
permissions (the FAT boot partition is readable by everyone), the config's paths are
rewritten to their new place, and the config is checked before anything is replaced.
A config with mistakes stays where it was, next to `hotline-config-error.txt` that
explains them, so the technician can read and fix it on the same PC.
"""

from __future__ import annotations

import grp
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from appliance.core.errors import ConfigError
from appliance.programs.configuration import parse_config

CONFIG_NAME = "hotline.toml"
ERROR_NAME = "hotline-config-error.txt"
BOOT_DIRS = (Path("/boot/firmware"), Path("/boot"))  # Raspberry Pi OS bookworm, older
# Keys whose values are files to bring along: `key = "name"` anywhere in the config.
FILE_KEY = re.compile(
    r"^(?P<lead>\s*(?P<key>(?:password|ca|cert|key|admin_token|tls_cert|tls_key)_file)"
    r'\s*=\s*)"(?P<value>[^"]*)"',
    re.MULTILINE,
)


@dataclass(frozen=True, slots=True)
class Plan:
    config_text: str  # with the paths rewritten
    moves: tuple[tuple[Path, Path], ...]  # boot file -> its place under the config dir


def plan(text: str, boot: Path, target: Path) -> Plan:
    """Which files the config names on the boot partition, and the config that points at
    their new place. Paths that are not on the boot partition are left as they are."""
    moves: dict[Path, Path] = {}

    def relocate(match: re.Match[str]) -> str:
        value = match["value"]
        if not value:
            return match[0]
        source = Path(value) if Path(value).is_absolute() else boot / value
        if source.parent != boot or not source.is_file():
            return match[0]
        moves[source] = target / source.name
        return f'{match["lead"]}"{target / source.name}"'

    return Plan(FILE_KEY.sub(relocate, text), tuple(moves.items()))


def find_boot_config(boot_dirs: tuple[Path, ...] = BOOT_DIRS) -> Path | None:
    return next((d / CONFIG_NAME for d in boot_dirs if (d / CONFIG_NAME).is_file()), None)


def _install(data: bytes, destination: Path, group: int | None) -> None:
    """Write with mode 0640 (root:hotline when run as root) before any byte lands."""
    temporary = destination.with_suffix(destination.suffix + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(descriptor, 0o640)  # whatever the umask: the service's group must read it
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    if group is not None:
        os.chown(temporary, 0, group)
    temporary.replace(destination)


def _service_group() -> int | None:
    if os.geteuid() != 0:
        return None
    try:
        return grp.getgrnam("hotline").gr_gid
    except KeyError:
        return None


def install_config(source: Path, target: Path) -> Path:
    """Move `source` (and the files it names beside it) into `target`; return the config.

    On mistakes nothing is moved: ConfigError, and the explanation written beside
    `source`.
    """
    boot = source.parent
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(source), [f"cannot read: {error.strerror}"]) from error
    steps = plan(text, boot, target)
    target.mkdir(mode=0o750, parents=True, exist_ok=True)
    group = _service_group()
    staged = []
    for origin, destination in steps.moves:
        _install(origin.read_bytes(), destination, group)
        staged.append(destination)
    installed = target / CONFIG_NAME
    try:
        parse_config(steps.config_text, f"{source} (as {installed})")
    except ConfigError as error:
        for destination in staged:
            destination.unlink(missing_ok=True)
        (boot / ERROR_NAME).write_text(error.explain() + "\n", encoding="utf-8")
        raise
    if installed.exists():
        shutil.copy2(installed, installed.with_suffix(".toml.previous"))
    _install(steps.config_text.encode(), installed, group)
    for origin, _ in steps.moves:
        origin.unlink()
    source.unlink()
    (boot / ERROR_NAME).unlink(missing_ok=True)
    return installed


# --- the image's own settings (hotline-image-firstboot.service) ------------------------

SYSTEM_ERROR_NAME = "hotline-system-error.txt"
HOSTNAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
SSH_KEY = re.compile(
    r"(?:ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(?:256|384|521)|sk-\S+) [A-Za-z0-9+/=]+(?: .*)?"
)
COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class SystemSettings:
    done: tuple[str, ...]  # what was set, in words for the log
    units: tuple[str, ...]  # to enable and start (Wi-Fi, SSH)
    problems: tuple[str, ...]  # files that were left where they are, and why


def _unquoted(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _settings(text: str) -> dict[str, str]:
    pairs = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            pairs[key.strip().lower()] = _unquoted(value)
    return pairs


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    """Written with its mode from the first byte (a Wi-Fi password is never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    temporary.replace(path)


def _shredded(path: Path) -> None:
    """Overwritten, then removed: a FAT partition keeps a deleted file's bytes."""
    size = path.stat().st_size
    with path.open("r+b") as file:
        file.write(b"\0" * size)
        file.flush()
        os.fsync(file.fileno())
    path.unlink()


class _NotApplied(Exception):  # noqa: N818 - a technician's file to fix, not a failure
    pass


def _hostname(text: str, root: Path) -> tuple[str, tuple[str, ...]]:
    name = text.strip().lower()
    if not HOSTNAME.fullmatch(name):
        raise _NotApplied(f"{name[:64]!r} is not a host name (a-z, 0-9, -)")
    _write(root / "etc/hostname", name + "\n")
    hosts = root / "etc/hosts"
    lines = hosts.read_text().splitlines() if hosts.exists() else []
    lines = [line for line in lines if not line.startswith("127.0.1.1")]
    _write(hosts, "\n".join([*lines, f"127.0.1.1\t{name}"]) + "\n")
    return f"host name {name}", ()


def _wifi(text: str, root: Path) -> tuple[str, tuple[str, ...]]:
    wifi = _settings(text)
    ssid, psk, country = wifi.get("ssid", ""), wifi.get("psk", ""), wifi.get("country", "DK")
    if not 1 <= len(ssid.encode()) <= 32 or not 8 <= len(psk.encode()) <= 63:
        raise _NotApplied("give ssid = (1-32 bytes) and psk = (8-63 bytes)")
    if {'"', "\n", "\\"} & set(ssid + psk) or not COUNTRY.fullmatch(country.upper()):
        raise _NotApplied('no " or \\ in ssid and psk; the country as two letters')
    _write(
        root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf",
        f"ctrl_interface=DIR=/run/wpa_supplicant\ncountry={country.upper()}\n"
        f'network={{\n\tssid="{ssid}"\n\tpsk="{psk}"\n}}\n',
        0o600,
    )
    return f"Wi-Fi {ssid}", ("wpa_supplicant@wlan0.service",)


def _ssh_keys(text: str, root: Path) -> tuple[str, tuple[str, ...]]:
    lines = [line.strip() for line in text.splitlines()]
    keys = [line for line in lines if SSH_KEY.fullmatch(line)]
    wrong = [str(number) for number, line in enumerate(lines, 1)
             if line and not line.startswith("#") and not SSH_KEY.fullmatch(line)]  # fmt: skip
    if wrong or not keys:
        raise _NotApplied(f"not SSH public keys (line {', '.join(wrong)})" if wrong else "no key")
    ssh = root / "root/.ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(ssh / "authorized_keys", "\n".join(keys) + "\n", 0o600)
    return f"{len(keys)} SSH key(s); SSH on", ("ssh.service",)


def _timezone(text: str, root: Path) -> tuple[str, tuple[str, ...]]:
    zone = text.strip()
    known = re.fullmatch(r"[A-Za-z_]+(?:/[A-Za-z0-9_+-]+)*", zone)  # Etc/GMT+1; no ".."
    if not known or not (root / "usr/share/zoneinfo" / zone).is_file():
        raise _NotApplied(f"{zone[:64]!r} is no time zone (Europe/Copenhagen)")
    localtime = root / "etc/localtime"
    localtime.unlink(missing_ok=True)
    localtime.symlink_to(Path("/usr/share/zoneinfo") / zone)
    _write(root / "etc/timezone", zone + "\n")
    return f"time zone {zone}", ()


def _ntp(text: str, root: Path) -> tuple[str, tuple[str, ...]]:
    servers = text.split()
    if not servers or not all(re.fullmatch(r"[A-Za-z0-9.:-]{1,253}", s) for s in servers):
        raise _NotApplied("give one or more NTP servers (names or addresses), space apart")
    _write(root / "etc/systemd/timesyncd.conf.d/hotline.conf",
           f"[Time]\nNTP={' '.join(servers)}\n")  # fmt: skip
    return f"NTP {' '.join(servers)}", ("systemd-timesyncd.service",)


SYSTEM_FILES = {
    "hostname.txt": _hostname,
    "ntp.txt": _ntp,  # a closed network's own time servers
    "wifi.txt": _wifi,  # ssid =, psk =, country = (DK)
    "authorized_keys": _ssh_keys,  # SSH stays off without one
    "timezone.txt": _timezone,
}


def install_system(boot: Path, root: Path = Path("/")) -> SystemSettings:
    """The image's settings from the boot partition (SYSTEM_FILES), each file taken away
    once applied (the Wi-Fi password must not stay on a FAT partition); the ones with
    mistakes stay, explained in hotline-system-error.txt beside them."""
    done: list[str] = []
    units: list[str] = []
    problems: list[str] = []
    for name, apply in SYSTEM_FILES.items():
        source = boot / name
        if not source.is_file():
            continue
        try:  # utf-8-sig: what Notepad saves
            said, wanted = apply(source.read_text(encoding="utf-8-sig"), root)
        except _NotApplied as problem:
            problems.append(f"{name}: {problem}")
            continue
        except UnicodeDecodeError:
            problems.append(f"{name}: not a text file")
            continue
        done.append(said)
        units += wanted
        _shredded(source)
    report = boot / SYSTEM_ERROR_NAME
    if problems:
        report.write_text("\n".join(problems) + "\n", encoding="utf-8")
    else:
        report.unlink(missing_ok=True)
    return SystemSettings(tuple(done), tuple(units), tuple(problems))
