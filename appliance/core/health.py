"""What the appliance knows of its own health: each output's state, and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Outputs:
    """Each display output reports whether it works; `/healthz` and health carry it."""

    states: dict[str, tuple[bool, str]] = field(default_factory=dict)

    def ok(self, name: str) -> None:
        self.states[name] = (True, "")

    def error(self, name: str, message: str) -> None:
        self.states[name] = (False, message)


@dataclass(frozen=True, slots=True)
class HealthReport:
    healthy: bool
    reasons: list[str]
    payload: dict[str, Any]
