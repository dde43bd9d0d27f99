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
