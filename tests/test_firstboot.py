"""`hotline install-config`: the technician's files from the boot partition to /etc."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from appliance.programs.cli import main
from appliance.programs.configuration import load_config
from appliance.programs.firstboot import ERROR_NAME, plan

CONFIG = """
[site]
id = "favrskov"

[mqtt]
url = "mqtts://broker.example:8883"
username = "favrskov"
password_file = "mqtt.password"
ca_file = "/boot/firmware/ca.crt"
key_file = "/etc/ssl/private/elsewhere.key"

[web]
admin_token_file = "admin.token"
"""


@pytest.fixture
def boot(tmp_path: Path) -> Path:
    boot = tmp_path / "boot"
    boot.mkdir()
    (tmp_path / "elsewhere.key").write_text("k")
    text = CONFIG.replace("/boot/firmware", str(boot)).replace("/etc/ssl/private", str(tmp_path))
    (boot / "hotline.toml").write_text(text)
    (boot / "mqtt.password").write_text("s3cret\n")
    (boot / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (boot / "admin.token").write_text("t0ken\n")
    return boot


def test_the_plan_moves_only_files_on_the_boot_partition(boot: Path, tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    steps = plan((boot / "hotline.toml").read_text(), boot, etc)
    assert sorted(source.name for source, _ in steps.moves) == [
        "admin.token", "ca.crt", "mqtt.password"
    ]  # fmt: skip
    assert f'password_file = "{etc}/mqtt.password"' in steps.config_text
    assert f'ca_file = "{etc}/ca.crt"' in steps.config_text
    assert f'key_file = "{tmp_path}/elsewhere.key"' in steps.config_text  # not on the card


def test_install_moves_the_config_and_secrets_with_tight_permissions(
    boot: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    etc = tmp_path / "etc"
    config = boot / "hotline.toml"
    assert main(["install-config", "--from", str(config), "--to", str(etc)]) == 0
    assert "->" in capsys.readouterr().out
    assert sorted(p.name for p in boot.iterdir()) == []  # nothing readable left behind
    installed = load_config(etc / "hotline.toml")
    assert installed.mqtt.password_file == str(etc / "mqtt.password")
    assert (etc / "mqtt.password").read_text() == "s3cret\n"
    for name in ("hotline.toml", "mqtt.password", "admin.token", "ca.crt"):
        assert stat.S_IMODE((etc / name).stat().st_mode) == 0o640, name
    assert main(["install-config", "--from", str(boot / "none.toml"), "--to", str(etc)]) == 2


def test_a_config_with_mistakes_stays_with_an_explanation(boot: Path, tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    config = boot / "hotline.toml"
    config.write_text(config.read_text().replace('id = "favrskov"', 'id = "Favrskov!"'))
    assert main(["install-config", "--from", str(config), "--to", str(etc)]) == 2
    explanation = (boot / ERROR_NAME).read_text()
    assert "site.id" in explanation
    assert (boot / "mqtt.password").exists()  # nothing moved
    assert not (etc / "mqtt.password").exists()
    assert not (etc / "hotline.toml").exists()
    # Fixed on the PC and booted again: installed, and the explanation is gone.
    config.write_text(config.read_text().replace('id = "Favrskov!"', 'id = "favrskov"'))
    assert main(["install-config", "--from", str(config), "--to", str(etc)]) == 0
    assert not (boot / ERROR_NAME).exists()


# --- the image's own settings ------------------------------------------------------------

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5Zm9ydGhldGVjaG5pY2lhbnM technician@pc"


def a_system(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n127.0.1.1\thotline\n")
    zone = root / "usr/share/zoneinfo/Europe/Copenhagen"
    zone.parent.mkdir(parents=True)
    zone.write_bytes(b"TZif")
    return root


def test_the_image_takes_its_host_name_wifi_key_and_zone_from_the_boot_partition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot, root = tmp_path / "boot", a_system(tmp_path)
    boot.mkdir()
    (boot / "hostname.txt").write_text("Favrskov-1\n")
    (boot / "wifi.txt").write_text(
        "# the centre's network\nssid = Borgerservice\npsk = 'ikke-sikker'\n"
    )
    (boot / "authorized_keys").write_text(f"# the technicians\n{KEY}\n")
    (boot / "timezone.txt").write_text("Europe/Copenhagen\n")
    assert main(["install-system", "--boot", str(boot), "--root", str(root)]) == 0
    assert (root / "etc/hostname").read_text() == "favrskov-1\n"
    assert "127.0.1.1\tfavrskov-1" in (root / "etc/hosts").read_text()
    assert "127.0.1.1\thotline" not in (root / "etc/hosts").read_text()
    wpa = root / "etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
    assert 'ssid="Borgerservice"' in wpa.read_text()
    assert 'psk="ikke-sikker"' in wpa.read_text()  # quotes round a value are not its own
    assert stat.S_IMODE(wpa.stat().st_mode) == 0o600
    keys = root / "root/.ssh/authorized_keys"
    assert keys.read_text() == KEY + "\n"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert (root / "etc/localtime").readlink() == Path("/usr/share/zoneinfo/Europe/Copenhagen")
    assert list(boot.iterdir()) == []  # taken away: the Wi-Fi password is not left on FAT
    out = capsys.readouterr().out
    assert "Wi-Fi Borgerservice" in out
    assert "SSH on" in out


def test_mistakes_in_the_image_settings_stay_with_an_explanation(tmp_path: Path) -> None:
    boot, root = tmp_path / "boot", a_system(tmp_path)
    boot.mkdir()
    (boot / "hostname.txt").write_text("favrskov 1\n")
    (boot / "wifi.txt").write_text("ssid = Borgerservice\npsk = kort\n")
    (boot / "authorized_keys").write_text("my password is hunter2\n")
    (boot / "timezone.txt").write_text("Mars/Olympus\n")
    assert main(["install-system", "--boot", str(boot), "--root", str(root)]) == 1
    explained = (boot / "hotline-system-error.txt").read_text()
    for said in (
        "hostname.txt: 'favrskov 1' is not a host name",
        "wifi.txt: give ssid",
        "authorized_keys: not SSH public keys (line 1)",
        "timezone.txt: 'Mars/Olympus'",
    ):
        assert said in explained
    assert not (root / "root/.ssh").exists()  # SSH stays off without a key
    assert (boot / "wifi.txt").exists()  # left for the technician to fix
