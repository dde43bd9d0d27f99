"""`make image`: a flashable SD-card image, Debian bookworm arm64 for the Raspberry Pi 3, 4
and Zero 2 W with the package preinstalled.

    python deb/image.py --deb dist/hotline_<version>_arm64.deb [--out dist]

Built from files, as root, with no loop devices (vmdb2 needs device-mapper): the arm64
root is debootstrapped and configured under qemu-user-static (binfmt_misc), the FAT
partition (RASPIFIRM: Debian's raspi-firmware, the kernel, the DTBs) is made with
mkfs.vfat and mcopy, the root (RASPIROOT) with `mkfs.ext4 -d`, and the partition table
with sfdisk.

Stage 1 (the root with its kernel, firmware, kiosk and tools; the initramfs under
emulation is the slow part) is cached in /var/cache/hotline-build/image by a hash of its
inputs. Stage 2 (the package, the settings, the partitions) takes about a minute or two.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("HOTLINE_IMAGE_CACHE", "/var/cache/hotline-build/image"))
MIRROR = "http://deb.debian.org/debian"
SUITE = "bookworm"
# debootstrap's part: enough for apt and systemd to run in the chroot.
BOOTSTRAP = ["systemd", "systemd-sysv", "udev", "dbus", "apt", "ca-certificates"]
# The appliance's machine: kernel and firmware for the Pi (and -M virt for the tests),
# network, clock, SSH for technicians, the kiosk, the package's own dependencies.
PACKAGES = [
    "linux-image-arm64", "raspi-firmware", "firmware-brcm80211", "wireless-regdb",
    "wpasupplicant", "systemd-resolved", "systemd-timesyncd", "openssh-server",
    "cloud-guest-utils", "e2fsprogs", "dosfstools", "iproute2", "netbase", "kmod",
    "python3", "python3-venv", "curl", "less", "nano", "i2c-tools",
    # cage 0.1.4 exits without an Xwayland binary, even though Chromium speaks Wayland itself
    "cage", "xwayland", "chromium", "fonts-dejavu-core", "seatd", "libpam-systemd",
    "python3-spidev",  # SPI OLEDs: luma's spidev has no wheel (GPIO's lgpio is in the package)
]  # fmt: skip
# Settings made before the packages: dpkg keeps ours (--force-confold), never asks.
APT_INSTALL = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "-o", "Dpkg::Options::=--force-confold",
               "-o", "Dpkg::Options::=--force-confdef"]  # fmt: skip
STAGE1_VERSION = "2"  # bump when stage 1's steps change
FAT_MB = 256


def run(*command: str | Path, env: dict[str, str] | None = None, **kwargs: object) -> None:
    subprocess.run([str(part) for part in command], check=True, env=env, **kwargs)  # type: ignore[call-overload]


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Say how long each part of the build took (the slow ones run under emulation)."""
    started = time.monotonic()
    yield
    print(f"image: {what} took {time.monotonic() - started:.0f} s", flush=True)


def chroot(root: Path, *command: str) -> None:
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "DEBIAN_FRONTEND": "noninteractive",
        "LC_ALL": "C.UTF-8",
        "HOME": "/root",
    }
    run("chroot", root, *command, env=env)


def stage1_key() -> str:
    inputs = "\n".join([STAGE1_VERSION, SUITE, MIRROR, *BOOTSTRAP, *PACKAGES, *APT_INSTALL,
                        RASPI_DEFAULTS, RASPI_CUSTOM])  # fmt: skip
    return hashlib.sha256(inputs.encode()).hexdigest()[:12]


class Mounted:
    """/proc, /sys and /dev in the chroot while packages install (their scripts look)."""

    def __init__(self, root: Path) -> None:
        self.points = [(root / "proc", ["-t", "proc", "proc"]),
                       (root / "sys", ["-t", "sysfs", "sysfs"]),
                       (root / "dev", ["--bind", "/dev"]),
                       (root / "dev/pts", ["--bind", "/dev/pts"])]  # fmt: skip

    def __enter__(self) -> Mounted:
        try:
            for point, how in self.points:
                point.mkdir(parents=True, exist_ok=True)
                run("mount", *how, point)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        unmount_under(self.points[0][0].parent)


def unmount_under(place: Path) -> None:
    """Every mount at or below `place`, deepest first (a killed build leaves its /dev)."""
    prefix = str(place.resolve())
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m == prefix or m.startswith(prefix + "/")),
                        key=len, reverse=True):  # fmt: skip
        subprocess.run(["umount", "-l", point], check=False)


def remove_tree(place: Path) -> None:
    """rmtree, never through a mount (the host's /dev bound into a chroot)."""
    unmount_under(place)
    mounts = Path("/proc/mounts").read_text()
    if f" {place.resolve()}/" in mounts:
        raise RuntimeError(f"{place}: still mounted below, not removed")
    shutil.rmtree(place, ignore_errors=True)


def stage1() -> Path:
    """The cached root: made once per set of inputs (tens of minutes under emulation)."""
    place = CACHE / f"stage1-{stage1_key()}"
    root = place / "root"
    if (place / ".complete").exists():
        return root
    remove_tree(place)
    root.mkdir(parents=True)
    run("debootstrap", "--arch=arm64", "--variant=minbase", "--foreign",
        "--components=main,non-free-firmware", f"--include={','.join(BOOTSTRAP)}",
        SUITE, root, MIRROR)  # fmt: skip
    chroot(root, "/debootstrap/debootstrap", "--second-stage")
    (root / "etc/apt/sources.list").write_text(
        f"deb {MIRROR} {SUITE} main non-free-firmware\n"
        f"deb {MIRROR} {SUITE}-updates main non-free-firmware\n"
        f"deb http://security.debian.org/debian-security {SUITE}-security main non-free-firmware\n"
    )
    # raspi-firmware writes the boot partition's files here, from its kernel hooks.
    (root / "boot/firmware").mkdir(parents=True, exist_ok=True)
    (root / "etc/default").mkdir(parents=True, exist_ok=True)
    (root / "etc/default/raspi-firmware").write_text(RASPI_DEFAULTS)
    (root / "etc/default/raspi-firmware-custom").write_text(RASPI_CUSTOM)
    no_services = root / "usr/sbin/policy-rc.d"  # nothing starts inside the build
    no_services.write_text("#!/bin/sh\nexit 101\n")
    no_services.chmod(0o755)
    # One initramfs at the end, not one per package that triggers it (each takes about 13
    # minutes under emulation): update-initramfs is a no-op while the packages go in.
    real = "/usr/sbin/update-initramfs"
    chroot(root, "dpkg-divert", "--local", "--rename", "--divert", f"{real}.real", "--add", real)
    stub = root / real.lstrip("/")
    stub.parent.mkdir(parents=True, exist_ok=True)
    with Mounted(root):
        chroot(root, "apt-get", "update", "-q")
        stub.write_text("#!/bin/sh\nexit 0\n")
        stub.chmod(0o755)
        chroot(root, *APT_INSTALL, *PACKAGES)
        stub.unlink()
        chroot(root, "dpkg-divert", "--local", "--rename", "--remove", real)
        chroot(root, "update-initramfs", "-c", "-k", "all")  # raspi-firmware's hook copies it
        chroot(root, "apt-get", "clean")
    no_services.unlink()
    (place / ".complete").write_text(stage1_key() + "\n")
    return root


RASPI_DEFAULTS = 'ROOTPART=LABEL=RASPIROOT\nCONSOLES="tty1 ttyS1,115200"\n'
# config.txt lines the firmware reads (the upstream DTBs; docs/deployment.md says which
# of them Debian's kernel honours): I2C and SPI for the OLEDs, the PL011 UART for a sign.
RASPI_CUSTOM = """\
dtparam=i2c_arm=on
dtparam=spi=on
enable_uart=1
dtoverlay=disable-bt
"""


def version() -> str:
    import tomllib  # noqa: PLC0415

    return str(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])


IMAGE_FILES = ROOT / "deb" / "image-files"  # what the image adds to the package's files


def configure(root: Path) -> None:
    """The appliance's machine: its own identity at first boot, network, clock, a small
    journal, SSH off until a technician's key comes, the kiosk on HDMI."""
    (root / "etc/hostname").write_text("hotline\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\thotline\n"
                                    "::1\tlocalhost ip6-localhost ip6-loopback\n")  # fmt: skip
    (root / "etc/fstab").write_text(
        "LABEL=RASPIROOT / ext4 rw,noatime,commit=60,errors=remount-ro 0 1\n"
        "LABEL=RASPIFIRM /boot/firmware vfat rw,noatime,umask=0077 0 2\n"
    )
    # Every card its own: machine id, SSH host keys (made at its first boot).
    (root / "etc/machine-id").write_text("")
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    for source in sorted(IMAGE_FILES.rglob("*")):
        if source.is_file():
            target = root / source.relative_to(IMAGE_FILES)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            target.chmod(0o755 if os.access(source, os.X_OK) else 0o644)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    resolv.symlink_to("/run/systemd/resolve/stub-resolv.conf")
    (root / "etc/timezone").write_text("Europe/Copenhagen\n")
    localtime = root / "etc/localtime"
    localtime.unlink(missing_ok=True)
    localtime.symlink_to("/usr/share/zoneinfo/Europe/Copenhagen")
    chroot(root, "usermod", "-p", "*", "root")  # no password: SSH keys only
    chroot(root, "systemctl", "disable", "ssh.service")  # on once a key is given
    chroot(root, "systemctl", "enable", "systemd-networkd.service", "systemd-resolved.service",
           "systemd-timesyncd.service", "hotline-image-firstboot.service",
           "hotline-firstboot.service", "hotline.service", "hotline-kiosk.service")  # fmt: skip
    chroot(root, "systemctl", "set-default", "graphical.target")


def _fdt(*command: str | Path) -> str | None:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          check=False)  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else None


SPIDEV = "rohm,dh2228fv"  # a compatible the kernel's spidev driver binds (upstream DTs name none)
NEW_PHANDLE = 0x6F746C00  # "otl": far above dtc's own, which count up from 1


# The nodes in the upstream DTBs of the Pi 3, 4 and Zero 2 W (the same unit addresses on
# all three: no aliases for them there).
I2C1 = "/soc/i2c@7e804000"  # GPIO 2/3, pins 3/5: on already upstream
SPI0 = "/soc/spi@7e204000"  # GPIO 7-11, pins 19/21/23/24/26: off upstream
SPI0_PINS = "/soc/gpio@7e200000/spi0_gpio7"


def enable_hardware(firmware: Path) -> list[str]:
    """I2C1 and SPI0 (a spidev on each chip select) switched on in every Pi DTB; returns
    the DTBs changed.

    Debian's raspi-firmware carries the upstream kernel's DTBs and no overlays, so
    `dtoverlay=spi0-2cs` or `dtparam=spi=on` in config.txt do nothing; the nodes are set
    here instead. The PL011 UART stays with Bluetooth (on a Pi 3 and Zero 2 W its pins are
    BT's): a sign goes on a USB serial adapter (/dev/wallboard).
    """
    changed = []
    for dtb in sorted(firmware.glob("bcm2*-rpi-*.dtb")):  # bcm2837 (3, Zero 2), bcm2711 (4)
        if _fdt("fdtget", "-t", "s", dtb, SPI0, "compatible") is None:
            continue  # not a board with these nodes
        run("fdtput", "-t", "s", dtb, I2C1, "status", "okay")
        phandle = _fdt("fdtget", "-t", "u", dtb, SPI0_PINS, "phandle")
        if phandle is None:  # unreferenced upstream: it gets one
            phandle = str(NEW_PHANDLE)
            run("fdtput", "-t", "u", dtb, SPI0_PINS, "phandle", phandle)
        run("fdtput", "-t", "s", dtb, SPI0, "pinctrl-names", "default")
        run("fdtput", "-t", "u", dtb, SPI0, "pinctrl-0", phandle)
        run("fdtput", "-t", "s", dtb, SPI0, "status", "okay")
        for select in (0, 1):
            node = f"{SPI0}/spidev@{select}"
            run("fdtput", "-p", "-t", "s", dtb, node, "compatible", SPIDEV)
            run("fdtput", "-t", "u", dtb, node, "reg", str(select))
            run("fdtput", "-t", "u", dtb, node, "spi-max-frequency", "10000000")
        changed.append(dtb.name)
    if not changed:
        raise RuntimeError(f"no Raspberry Pi device tree in {firmware}")
    return changed


def assemble(root: Path, work: Path, image: Path) -> None:
    """The SD card: a FAT partition from /boot/firmware, an ext4 root from the rest."""
    firmware = work / "firmware"
    shutil.move(root / "boot/firmware", firmware)
    (root / "boot/firmware").mkdir()
    print("hardware on in", ", ".join(enable_hardware(firmware)) or "no device tree")
    fat = work / "fat.img"
    run("mkfs.vfat", "-C", "-F", "32", "-n", "RASPIFIRM", fat, str(FAT_MB * 1024),
        stdout=subprocess.DEVNULL)  # fmt: skip
    run("mcopy", "-s", "-i", fat, *sorted(firmware.iterdir()), "::/")
    used_mb = int(subprocess.run(["du", "-sm", str(root)], capture_output=True, text=True,
                                 check=True).stdout.split()[0])  # fmt: skip
    root_mb = int(used_mb * 1.2) + 300  # room for the venv's upgrades; grows at first boot
    ext4 = work / "root.img"
    run("mkfs.ext4", "-q", "-L", "RASPIROOT", "-d", root, "-E", "root_owner=0:0", ext4,
        f"{root_mb}M")  # fmt: skip
    start_mb = 4  # the partitions aligned to 4 MiB, as SD cards like
    total_mb = start_mb + FAT_MB + root_mb
    image.unlink(missing_ok=True)
    with image.open("wb") as file:
        file.truncate(total_mb * 1024 * 1024)
    table = (f"label: dos\nunit: sectors\n"
             f"start={start_mb * 2048}, size={FAT_MB * 2048}, type=c, bootable\n"
             f"start={(start_mb + FAT_MB) * 2048}, type=83\n")  # fmt: skip
    run("sfdisk", "--quiet", image, input=table.encode())
    for part, offset_mb in ((fat, start_mb), (ext4, start_mb + FAT_MB)):
        run("dd", f"if={part}", f"of={image}", "bs=4M", "conv=notrunc,sparse",
            f"seek={offset_mb * 1024 * 1024}", "oflag=seek_bytes", "status=none")  # fmt: skip


def build(deb: Path, out: Path) -> Path:
    base = stage1()
    out.mkdir(parents=True, exist_ok=True)
    image = out / f"hotline-{version()}-raspi-arm64.img"
    for leftover in CACHE.glob("stage2-*"):  # a build that was killed
        remove_tree(leftover)
    work = Path(tempfile.mkdtemp(dir=CACHE, prefix="stage2-"))
    try:
        root = work / "root"
        with step("copying stage 1"):
            run("cp", "-a", base, root)
        shutil.copyfile(deb, root / "tmp" / deb.name)
        no_services = root / "usr/sbin/policy-rc.d"
        no_services.write_text("#!/bin/sh\nexit 101\n")
        no_services.chmod(0o755)
        # Offline: every dependency is in stage 1 (dpkg says if not).
        with step("installing the package"), Mounted(root):
            # (in the chroot's /tmp, put there just above)
            chroot(root, "dpkg", "--force-confold", "-i", f"/tmp/{deb.name}")  # noqa: S108
        no_services.unlink()
        (root / "tmp" / deb.name).unlink()
        configure(root)
        with step("the partitions"):
            assemble(root, work, image)
    finally:
        remove_tree(work)
    with step("compressing"):
        run("xz", "-T0", "-1", "--keep", "--force", image)  # -1: minutes sooner, a few % larger
    return image.with_suffix(".img.xz")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    args = parser.parse_args()
    print(build(args.deb, args.out))


if __name__ == "__main__":
    main()
