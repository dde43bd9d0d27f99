"""Parts of `make image` that need no emulation (deb/image.py): the device trees."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deb"))
import image

# The nodes as the upstream Pi DTBs have them (bcm283x.dtsi): SPI0 off, its pins unused.
UPSTREAM = """/dts-v1/;
/ {
    soc {
        gpio@7e200000 { spi0_gpio7 { brcm,pins = <7 8 9 10 11>; brcm,function = <4>; }; };
        spi@7e204000 { compatible = "brcm,bcm2835-spi"; #address-cells = <1>;
                       #size-cells = <0>; status = "disabled"; };
        i2c@7e804000 { compatible = "brcm,bcm2835-i2c"; status = "okay"; };
    };
};
"""


def fdtget(dtb: Path, node: str, prop: str, kind: str = "s") -> str:
    done = subprocess.run(["fdtget", "-t", kind, str(dtb), node, prop], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("dtc") is None, reason="no dtc (scripts/image-deps.sh)")
def test_spi_and_i2c_are_switched_on_in_the_pi_device_trees(tmp_path: Path) -> None:
    source = tmp_path / "pi.dts"
    source.write_text(UPSTREAM)
    for name in ("bcm2837-rpi-3-b.dtb", "bcm2711-rpi-4-b.dtb"):
        subprocess.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(tmp_path / name),
                        str(source)], check=True)  # fmt: skip
    (tmp_path / "bcm2837-rpi-3-b.dtb").with_name("not-a-pi.txt").write_text("")
    assert image.enable_hardware(tmp_path) == ["bcm2711-rpi-4-b.dtb", "bcm2837-rpi-3-b.dtb"]
    dtb = tmp_path / "bcm2837-rpi-3-b.dtb"
    assert fdtget(dtb, image.SPI0, "status") == "okay"
    assert fdtget(dtb, image.I2C1, "status") == "okay"
    pins = fdtget(dtb, image.SPI0_PINS, "phandle", "u")
    assert fdtget(dtb, image.SPI0, "pinctrl-0", "u") == pins
    for select in ("0", "1"):
        assert fdtget(dtb, f"{image.SPI0}/spidev@{select}", "compatible") == image.SPIDEV
        assert fdtget(dtb, f"{image.SPI0}/spidev@{select}", "reg", "u") == select


def test_a_firmware_without_pi_device_trees_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no Raspberry Pi device tree"):
        image.enable_hardware(tmp_path)
