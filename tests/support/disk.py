"""A small file system of its own (a tmpfs) that can be filled to the last byte and freed.

A full disk is how a failing or worn SD card refuses the store's writes while the
database stays open. (Linux will not remount a file system read-only while a file on it
is open for writing, so "read-only" cannot be switched on under a running store.)
Mounting needs root; `available()` says whether this machine allows it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    @property
    def full(self) -> bool:
        return self._filler.exists()

    def fill(self) -> None:
        """Take every free byte, so that the next write fails with ENOSPC."""
        block = b"\0" * 65536
        with self._filler.open("wb", buffering=0) as filler:
            while True:
                try:
                    filler.write(block)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    if len(block) == 1:
                        return
                    block = block[: len(block) // 2]

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)


def available() -> bool:
    if os.geteuid() != 0:
        return False
    try:
        with mounted():
            return True
    except (OSError, subprocess.CalledProcessError):
        return False


@contextlib.contextmanager
def mounted(size_mb: int = 32) -> Iterator[SmallDisk]:
    path = Path(tempfile.mkdtemp(prefix="hotline-disk-"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "hotline-test", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        path.rmdir()
