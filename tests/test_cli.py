"""`hotline message` and friends, against a real broker."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from appliance.core.contract import Topics
from appliance.programs.cli import main, parse_until
from tests.support.mosquitto import Mosquitto, free_port

CPH = ZoneInfo("Europe/Copenhagen")


def test_until_is_the_next_such_time_in_copenhagen() -> None:
    evening = datetime(2026, 11, 28, 18, 45, tzinfo=CPH)
    assert parse_until("22:00", evening) == datetime(2026, 11, 28, 22, 0, tzinfo=CPH)
    assert parse_until("08:00", evening) == datetime(2026, 11, 29, 8, 0, tzinfo=CPH)
    assert parse_until("2026-12-01T10:00+01:00", evening).isoformat() == (
        "2026-12-01T10:00:00+01:00"
    )


async def retained(broker: Mosquitto, topic: str) -> bytes | None:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe(topic, qos=1)
        try:
            async with asyncio.timeout(1.0):  # retained messages come at once, or not at all
                message = await anext(aiter(client.messages))
                return bytes(message.payload)  # type: ignore[arg-type]
        except TimeoutError:
            return None


def test_message_puts_a_line_on_every_ticker_and_clears_it(
    broker: Mosquitto, topics: Topics, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--broker", broker.url, "--prefix", topics.prefix]
    assert (
        main(["message", "Personalemøde kl. 21.30", "--site", "all", "--until", "22:00", *common])
        == 0
    )
    payload = json.loads(asyncio.run(retained(broker, topics.messages("all"))) or b"{}")
    assert payload["v"] == 1
    assert payload["text"] == "Personalemøde kl. 21.30"
    assert payload["level"] == "info"
    assert datetime.fromisoformat(payload["expires"]).astimezone(CPH).hour == 22
    assert main(["message", "--clear", "--site", "all", *common]) == 0
    assert asyncio.run(retained(broker, topics.messages("all"))) is None
    assert "cleared" in capsys.readouterr().out


def test_message_explains_bad_input_and_a_dead_broker(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["message", "hej", "--site", "Favrskov Kommune"]) == 2
    assert "--site" in capsys.readouterr().err
    assert main(["message", "x" * 201]) == 2
    assert "200" in capsys.readouterr().err
    dead = f"mqtt://127.0.0.1:{free_port()}"
    assert main(["message", "hej", "--broker", dead, "--timeout", "1"]) == 2
    assert "broker not reachable" in capsys.readouterr().err


ROTA_CSV = """agent;start;end;role;name;site
a2101;18:30;22:00;phone;Mette Jensen;favrskov
a3102;18:30;22:00;standby;Ole Knudsen;silkeborg
"""


def test_rota_publish_checks_the_file_then_publishes_it_retained(
    broker: Mosquitto, topics: Topics, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--broker", broker.url, "--prefix", topics.prefix]
    broken = tmp_path / "broken.csv"
    broken.write_text("agent,start,end,role\nMette,18:30,22:00,phone\na1,18:30,22:00,lunch\n")
    assert main(["rota", "publish", str(broken), "--date", "2026-11-29", *common]) == 2
    err = capsys.readouterr().err
    assert "line 2: agent 'Mette' is not an agent id" in err
    assert "line 3: role 'lunch' is not phone or standby" in err
    assert asyncio.run(retained(broker, topics.rota("2026-11-29"))) is None  # nothing sent

    good = tmp_path / "rota.csv"
    good.write_text("\ufeff" + ROTA_CSV, encoding="utf-8")  # as a spreadsheet saves it
    assert main(["rota", "publish", str(good), "--date", "2026-11-29", *common]) == 0
    assert "2026-11-29: 2 shifts published (1 standby)" in capsys.readouterr().out
    payload = json.loads(asyncio.run(retained(broker, topics.rota("2026-11-29"))) or b"{}")
    assert payload["date"] == "2026-11-29"
    assert [s["role"] for s in payload["shifts"]] == ["phone", "standby"]
    assert payload["shifts"][0]["start"] == "2026-11-29T18:30:00+01:00"

    assert main(["rota", "show", "--date", "2026-11-29", *common]) == 0
    shown = capsys.readouterr().out
    assert "18:30-22:00  phone    a2101      Mette Jensen" in shown
    assert "standby  a3102      Ole Knudsen" in shown
    assert main(["rota", "show", "--date", "2026-11-30", *common]) == 1
    assert "no rota for 2026-11-30" in capsys.readouterr().out
