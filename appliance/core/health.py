"""What the appliance knows of its own health: each output's state, and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Outputs:
    """Each optional output reports whether it works; `/healthz`, health and /metrics carry it."""

    states: dict[str, tuple[bool, str]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # errors reported, per output

    def ok(self, name: str) -> None:
        self.states[name] = (True, "")

    def error(self, name: str, message: str) -> bool:
        """Record the error; True when it is news (the output worked, or said otherwise)."""
        news = self.states.get(name) != (False, message)
        self.states[name] = (False, message)
        self.failures[name] = self.failures.get(name, 0) + 1
        return news


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool
    reasons: list[str]
    payload: dict[str, Any]
