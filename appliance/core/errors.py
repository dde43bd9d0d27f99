"""One base error; each subclass also inherits the built-in error it refines."""

from __future__ import annotations


class HotlineError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(HotlineError, ValueError):
    """A configuration file with mistakes; `problems` names each by its key."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))

    def explain(self) -> str:
        lines = [f"{self.source}: {len(self.problems)} problem(s)"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


class NotConnectedError(HotlineError, ConnectionError):
    """The broker is not reachable right now; the caller keeps what it wanted to send."""


class PublishRefusedError(HotlineError, PermissionError):
    """The broker received a message and refused it (an MQTT 5 PUBACK reason code)."""

    def __init__(self, topic: str, reason: str) -> None:
        self.topic = topic
        self.reason = reason
        super().__init__(f"broker refused {topic}: {reason}")
