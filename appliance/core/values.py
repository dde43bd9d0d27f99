"""What decoding does to values from the network: text made safe to show on any display,
and values that many payloads repeat kept once."""

from __future__ import annotations

import unicodedata
from collections.abc import Hashable
from typing import Generic, TypeVar


def clean_text(text: str, limit: int) -> str:
    """Text safe for any display: no control or format characters, trimmed, capped."""
    if not text.isprintable():
        text = "".join(
            " " if ch.isspace() else ch
            for ch in text
            if ch.isspace() or unicodedata.category(ch)[0] != "C"
        )
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


H = TypeVar("H", bound=Hashable)


class Shared(Generic[H]):
    """One copy of each value that many payloads repeat. In a reconnect storm thousands of
    agents name the same site and queues; each decoded its own copies. Bounded, since the
    values come from the network."""

    def __init__(self, limit: int = 1024) -> None:
        self._values: dict[H, H] = {}
        self._limit = limit

    def __call__(self, value: H) -> H:
        found = self._values.get(value)
        if found is None:
            if len(self._values) >= self._limit:
                self._values.clear()
            found = self._values[value] = value
        return found
