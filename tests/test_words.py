"""One table of words for every display: complete in each language, and all the page uses."""

from __future__ import annotations

import re
from importlib import resources
from typing import get_args

from appliance.core.contract import AGENT_STATES
from appliance.core.desk import DeskMessage, PressNote
from wallboard.words import WORDS, press_text, state_word, weekday, words

STATIC = resources.files("wallboard.web") / "static"


def test_every_language_has_every_word() -> None:
    danish = set(WORDS["da"])
    for language, table in WORDS.items():
        assert set(table) == danish, language
        assert all(text.strip() for text in table.values()), language


def test_every_code_of_the_core_has_its_words() -> None:
    for language in WORDS:
        for state in AGENT_STATES:
            assert f"state_{state}" in WORDS[language]
        for note in get_args(PressNote):
            assert press_text(DeskMessage(note), language)
    assert press_text(DeskMessage("refused", "Member not found"), "da") == "Member not found"
    assert press_text(DeskMessage("refused_by_broker", "Not authorized"), "en") == (
        "Refused by the server (Not authorized)"
    )
    assert state_word("da", "wrap_up", short=True) == "Efterbeh."
    assert (weekday("da", 6), weekday("en", 0, short=True)) == ("søndag", "Mon")
    assert words("xx") is WORDS["da"]


def test_the_pages_use_only_words_from_the_table() -> None:
    for script, name in (("app.js", "T"), ("stats.js", "L")):
        source = (STATIC / script).read_text(encoding="utf-8")
        used = set(re.findall(rf"\b{name}\.(\w+)", source))
        assert used, script
        assert used <= set(WORDS["da"]), (script, used - set(WORDS["da"]))
        for prefix in re.findall(rf'\b{name}\["(\w+)_" \+', source):
            assert any(key.startswith(prefix + "_") for key in WORDS["da"]), prefix
