"""The appliance's config as the programs load it: the core's checks and each part's own.

Each part checks the section it uses (the sign its layout's fields); the loader only
composes them, so a technician still gets every mistake of a file at once.
"""

from __future__ import annotations

from pathlib import Path

from appliance.core import config as core
from appliance.core.config import Config
from wallboard.sign.layout import layout_problems


def _sign_layout(config: Config) -> list[str]:
    return layout_problems(config.sign)


SECTION_CHECKS = (_sign_layout,)


def parse_config(text: str, source: str = "config") -> Config:
    return core.parse_config(text, source, SECTION_CHECKS)


def load_config(path: str | Path) -> Config:
    return core.load_config(path, SECTION_CHECKS)
