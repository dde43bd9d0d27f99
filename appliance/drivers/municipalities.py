"""The shipped list of the hotline's municipalities, read from the package."""

from __future__ import annotations

from functools import cache
from importlib import resources

from appliance.core.municipalities import Municipality, parse_municipalities


@cache
def shipped_municipalities() -> tuple[Municipality, ...]:
    text = (resources.files("appliance") / "data" / "region-midtjylland.csv").read_text("utf-8")
    return parse_municipalities(text)
