"""The systemd unit: clean for systemd-analyze, and hardened to an exposure of at most 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).parent.parent / "systemd"
pytestmark = pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed"
)


# Programs the units start that this machine may not have: stand-ins that exist.
STAND_INS = {"/opt/hotline/venv/bin/hotline": "/bin/true", "/usr/bin/cage": "/bin/true"}


def _copy(name: str, directory: Path) -> Path:
    text = (UNITS / name).read_text()
    for program, stand_in in STAND_INS.items():
        text = text.replace(program, stand_in)
    (directory / name).write_text(text)
    return directory / name


@pytest.fixture(params=["hotline.service", "hotline-bridge.service"])
def unit(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _copy(request.param, tmp_path)


@pytest.mark.parametrize("name", sorted(p.name for p in UNITS.glob("*.service")))
def test_verify_prints_nothing(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(_copy(name, tmp_path))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_exposure_is_at_most_2(unit: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    exposure = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert exposure is not None, result.stdout[-500:]
    assert float(exposure.group(1)) <= 2.0
