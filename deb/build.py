"""`make deb`: the Debian package, for installing with no internet on the Pi.

    python deb/build.py --arch arm64 [--out dist]

The package carries the application and every dependency as wheels for the target
(fetched here, at build time, for CPython 3.11 (bookworm) and 3.13 (trixie)); its
postinst builds the venv in /opt/hotline/venv from them, offline. Units, sysusers,
tmpfiles, the udev rule, docs and examples go where Debian keeps them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.11", "3.13")
MACHINES = {"arm64": "aarch64", "amd64": "x86_64"}
PLATFORMS = ("manylinux2014", "manylinux_2_28", "manylinux_2_34", "linux")
UNITS = ("hotline.service", "hotline-firstboot.service", "hotline-bridge.service",
         "hotline-kiosk.service")  # fmt: skip
DESCRIPTION = """\
Call-queue wallboard appliance for citizen-service centres
 Shows the shared phone hotline's live queue (waiting callers, longest wait, agents on
 duty, today's service level) on an LED sign, desk OLEDs and a web wallboard, reads the
 agents' desk buttons, and keeps the history. Subscribes to the hotline MQTT contract.
"""


def run(*command: str | Path) -> None:
    subprocess.run([str(part) for part in command], check=True)


def pip(*args: str | Path) -> None:
    run(sys.executable, "-m", "pip", "--disable-pip-version-check", *args)


def fetch_wheels(arch: str, wheels: Path) -> None:
    pip("wheel", "--quiet", "--no-deps", "--wheel-dir", wheels, ROOT)
    (ours,) = wheels.glob("hotline-*.whl")
    machine = MACHINES[arch]
    platforms = [arg for p in PLATFORMS for arg in ("--platform", f"{p}_{machine}")]
    for version in PYTHONS:
        tag = "cp" + version.replace(".", "")
        abis = ["--abi", tag, "--abi", "abi3", "--abi", "none"]
        target = ["--only-binary=:all:", *platforms, "--python-version", version, *abis]
        target += ["--implementation", "cp"]
        pip("download", "--quiet", "--dest", wheels, *target, ours)
        try:  # GPIO on the Pi; where no wheel exists, Raspberry Pi OS's python3-lgpio does
            pip("download", "--quiet", "--no-deps", "--dest", wheels, *target, "lgpio>=0.2")
        except subprocess.CalledProcessError:
            print(f"no lgpio wheel for CPython {version} on {arch}", file=sys.stderr)
    for tool in ("pip-*.whl", "setuptools-*.whl", "wheel-*.whl"):
        for wheel in wheels.glob(tool):
            wheel.unlink()


def install(source: Path, destination: Path, mode: int = 0o644) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
    destination.chmod(mode)


def stage_files(stage: Path) -> None:
    for unit in UNITS:
        install(ROOT / "systemd" / unit, stage / "lib/systemd/system" / unit)
    install(ROOT / "systemd/hotline.sysusers", stage / "usr/lib/sysusers.d/hotline.conf")
    install(ROOT / "systemd/hotline.tmpfiles", stage / "usr/lib/tmpfiles.d/hotline.conf")
    for rule in ("60-hotline-hardware.rules", "99-hotline-wallboard.rules"):
        install(ROOT / "firmware_config" / rule, stage / "usr/lib/udev/rules.d" / rule)
    docs = stage / "usr/share/doc/hotline"
    for doc in [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]:
        install(doc, docs / doc.name)
    for example in sorted((ROOT / "firmware_config").iterdir()):
        install(example, docs / "examples" / example.name)
    command = stage / "usr/bin/hotline"
    command.parent.mkdir(parents=True, exist_ok=True)
    command.symlink_to("/opt/hotline/venv/bin/hotline")


def control(version: str, arch: str, stage: Path) -> str:
    size_kb = sum(f.stat().st_size for f in stage.rglob("*") if f.is_file()) // 1024
    return (
        f"Package: hotline\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: hotline developers <hotline@example.invalid>\n"
        "Depends: python3 (>= 3.11), python3-venv, systemd\n"
        "Suggests: mosquitto-clients, cage, chromium, python3-spidev, python3-lgpio\n"
        f"Section: misc\nPriority: optional\nInstalled-Size: {size_kb}\n"
        f"Description: {DESCRIPTION}"
    )


def build(arch: str, out: Path) -> Path:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    stage = out / f"hotline_{version}_{arch}"
    shutil.rmtree(stage, ignore_errors=True)
    fetch_wheels(arch, stage / "opt/hotline/wheels")
    stage_files(stage)
    debian = stage / "DEBIAN"
    debian.mkdir()
    for script in ("postinst", "prerm", "postrm"):
        install(ROOT / "deb/debian" / script, debian / script, 0o755)
    (debian / "control").write_text(control(version, arch, stage))
    package = out / f"hotline_{version}_{arch}.deb"
    run("dpkg-deb", "--root-owner-group", "-Zxz", "--build", stage, package)
    shutil.rmtree(stage)
    return package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--arch", choices=sorted(MACHINES), default="arm64")
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    package = build(args.arch, args.out)
    print(package)


if __name__ == "__main__":
    main()
