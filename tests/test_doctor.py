"""`hotline doctor` against the things it checks: a real broker (live, dead, with a
password it refuses), luma's real I2C class on buses that are not there, a pty for the
sign, and a clock, a disk, GPIO and a kiosk as the test sets them."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from appliance.core.contract import Topics
from appliance.programs.doctor import Machine, run_doctor
from appliance.programs.sign_emulator import PtySign, SignEmulator
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.tls import password_file
from tests.test_desks import desk_config


class Usage(NamedTuple):
    total: int
    used: int
    free: int


def config_file(tmp_path: Path, mqtt: str, extra: str = "") -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(
        f'[site]\nid = "favrskov"\nappliance = "pi"\n[mqtt]\n{mqtt}\nprefix = "t/v1"\n'
        f'[history]\nstate_dir = "{tmp_path}"\n{extra}'
    )
    return path


def well(tmp_path: Path, **changes: Any) -> Machine:
    (tmp_path / "dev").mkdir(exist_ok=True)
    chip = tmp_path / "dev" / "gpiochip0"
    chip.touch()
    settings: dict[str, Any] = {
        "synchronised": lambda: True,
        "systemctl": lambda *args: {"is-enabled": "enabled", "is-active": "active"}[args[0]],
        "devices": tmp_path / "dev",
        "disk_usage": lambda _path: Usage(8 << 30, 1 << 30, 7 << 30),
        "open_oled": lambda _oled: None,
        "service_outputs": lambda _config: None,  # the service is not running
    }
    return Machine(**(settings | changes))


def doctor(path: Path, machine: Machine, capsys: pytest.CaptureFixture[str],
           *options: str) -> tuple[int, str]:  # fmt: skip
    args = argparse.Namespace(config=str(path), language=None, json=False)
    for option in options:
        setattr(args, *option.split("="))
    code = run_doctor(args, machine)
    return code, capsys.readouterr().out


@pytest.fixture
def sign(tmp_path: Path) -> Iterator[Path]:
    link = tmp_path / "wallboard"
    pty = PtySign(SignEmulator(), link)
    try:
        yield link
    finally:
        pty.close()


def test_all_well_is_said_and_exits_0(
    broker: Mosquitto, sign: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = desk_config('agent = "a1"') + f'\n[sign]\nport = "{sign}"\n'
    path = config_file(tmp_path, f'url = "{broker.url}"', extra)
    code, out = doctor(path, well(tmp_path), capsys)
    assert code == 0, out
    assert out.splitlines()[-1] == "Alt er i orden."
    for said in ("er i orden: center favrskov (pi)", f"brokeren {broker.url} svarer",
                 "uret er synkroniseret", "OLED desk-1 svarer på I2C-bus 1, adresse 0x3C",
                 f"skiltets port {sign} kan skrives til", "GPIO:", "MB fri på",
                 "kiosken på HDMI kører"):  # fmt: skip
        assert said in out, said


def test_every_problem_is_explained_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    extra = desk_config('agent = "a1"') + '\n[sign]\nport = "/dev/no-such-sign"\n'
    path = config_file(tmp_path, f'url = "{dead}"\nconnect_timeout_s = 2', extra)
    (tmp_path / "empty").mkdir()
    machine = well(
        tmp_path,
        synchronised=lambda: False,
        devices=tmp_path / "empty",
        disk_usage=lambda _path: Usage(8 << 30, (8 << 30) - (50 << 20), 50 << 20),
        systemctl=lambda *args: {"is-enabled": "enabled", "is-active": "failed"}[args[0]],
        open_oled=Machine().open_oled,  # luma's real I2C class, on a bus this machine lacks
    )
    code, out = doctor(path, machine, capsys, "language=en")
    assert code == 1
    lines = out.splitlines()
    assert lines[-1] == "7 problem(s)."
    problems = [line for line in lines if line.startswith("FAIL")]
    for said in (f"the broker {dead} cannot be reached", "the clock is not synchronised",
                 "OLED desk-1: I2C-bus 1, address 0x3C does not exist",
                 "the sign's port /dev/no-such-sign does not exist", "no GPIO chip in",
                 "only 50 MB free", "the HDMI kiosk is not running (failed)"):  # fmt: skip
        assert any(said in line for line in problems), (said, problems)
    assert len(problems) == 7  # (the config itself is fine)


def test_a_wrong_password_is_named_as_such(
    tmp_path: Path, topics: Topics, capsys: pytest.CaptureFixture[str]
) -> None:
    passwords = password_file(tmp_path / "passwd", "favrskov", "right")
    broker = Mosquitto(tmp_path / "broker", anonymous=False,
                       extra_config=f"password_file {passwords}\n")  # fmt: skip
    broker.start()
    try:
        secret = tmp_path / "mqtt.password"
        secret.write_text("wrong\n")
        mqtt = f'url = "{broker.url}"\nusername = "favrskov"\npassword_file = "{secret}"'
        code, out = doctor(config_file(tmp_path, mqtt), well(tmp_path), capsys, "json=1")
    finally:
        broker.stop()
    assert code == 1
    found = {f["check"]: f for f in json.loads(out)}
    assert not found["broker"]["ok"]
    assert "afviser login som favrskov" in found["broker"]["da"]
    assert "wrong" not in found["broker"]["da"].replace("wrong user", "")  # never the secret


def test_a_config_with_mistakes_is_the_only_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text('[site]\nid = "Favrskov!"\n[mqtt]\nurl = "http://x"\n')
    code, out = doctor(path, well(tmp_path), capsys)
    assert code == 1
    assert out.splitlines()[0].startswith(f"FEJL {path} har fejl: ")
    assert "site.id" in out
