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


@pytest.fixture(params=["hotline.service", "hotline-bridge.service"])
def unit(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    # The package puts the program in /opt/hotline; here a stand-in that exists.
    copy = tmp_path / request.param
    original = (UNITS / request.param).read_text()
    copy.write_text(original.replace("/opt/hotline/venv/bin/hotline", "/bin/true"))
    return copy


def test_verify_prints_nothing(unit: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
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
