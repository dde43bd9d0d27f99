from __future__ import annotations

import re
from pathlib import Path

import pytest

from appliance.core.config import redacted
from appliance.core.errors import ConfigError
from appliance.programs.cli import main
from appliance.programs.configuration import load_config, parse_config

EXAMPLE = Path(__file__).parent.parent / "firmware_config" / "appliance.example.toml"


def test_minimal_config_takes_the_documented_defaults() -> None:
    config = parse_config('[site]\nid = "favrskov"\n')
    assert config.mqtt.url == "mqtt://localhost:1883"
    assert config.mqtt.prefix == "hotline/v1"
    assert config.mqtt.stale_after_s == 90
    assert config.web.language == "da"
    assert config.queues.show == ()
    assert (config.alarms.waiting_warn, config.alarms.waiting_critical) == (3, 6)


def test_every_mistake_is_named_by_its_key() -> None:
    text = """
[site]
id = "Favrskov Kommune"
[mqtt]
url = "http://broker"
stale_after_s = "soon"
colour = "blue"
[alarms]
waiting_warn = 10
waiting_critical = -1
[web]
language = "sv"
[wallboard]
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    keys = {problem.split(":")[0] for problem in caught.value.problems}
    assert keys == {
        "site.id",
        "mqtt.stale_after_s",
        "mqtt.colour",
        "alarms.waiting_critical",
        "web.language",
        "wallboard",
    }


def test_cross_field_mistakes_are_found_after_the_types() -> None:
    text = """
[site]
id = "favrskov"
[mqtt]
url = "mqtt://user:secret@broker"
prefix = "hotline/#"
password_file = "/nonexistent/password"
[alarms]
waiting_warn = 10
waiting_critical = 5
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    problems = "\n".join(caught.value.problems)
    assert "alarms.waiting_warn" in problems
    assert "mqtt.url: put the password in mqtt.password_file" in problems
    assert "mqtt.prefix" in problems
    assert "mqtt.password_file: no such file" in problems
    assert "secret" not in str(caught.value)


def test_redacted_config_hides_credentials_in_the_url() -> None:
    config = parse_config('[site]\nid = "favrskov"\n[mqtt]\nurl = "mqtt://favrskov@broker:1883"\n')
    assert "favrskov@" not in redacted(config)["mqtt"]["url"]


def test_the_shipped_example_is_valid() -> None:
    config = load_config(EXAMPLE)
    assert config.site.id == "favrskov"


def test_check_config_explains_and_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[site]\nid = "x"\n[alarms]\nwaiting_warn = "many"\n')
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "alarms.waiting_warn: Expected int, got str" in err
    assert main(["check-config", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["check-config", str(EXAMPLE)]) == 0
    assert "OK" in capsys.readouterr().out


def test_the_example_documents_every_key() -> None:
    import msgspec  # noqa: PLC0415

    from appliance.core.config import Config  # noqa: PLC0415

    text = EXAMPLE.read_text()
    for section in msgspec.structs.fields(Config):
        kind = section.type
        if getattr(kind, "__origin__", None) is tuple:  # [[desks]], [[oled]]
            kind = kind.__args__[0]
            assert f"[[{section.name}]]" in text
        else:
            assert f"[{section.name}]" in text
        for key in msgspec.structs.fields(kind):
            documented = re.search(rf"^(# )?{key.name} = ", text, re.MULTILINE) or (
                f"[{section.name}.{key.name}]" in text
            )
            assert documented, f"{section.name}.{key.name} is not documented"
