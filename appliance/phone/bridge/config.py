"""`bridge.toml`: what the Asterisk bridge connects to and how it names things."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated

import msgspec

from appliance.core.config import Identifier, MqttConfig, PositiveSeconds, Section
from appliance.core.contract import HOTLINE_TIMEZONE
from appliance.core.toml_config import check_timezone, parse_toml, read_toml

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
NonNegativeSeconds = Annotated[float, msgspec.Meta(ge=0, le=86_400)]
MUNICIPALITY_CODE = re.compile(r"\d{3}")
UNASSIGNED_SITE = "unassigned"  # the site of members that are not in [[agents]]


class AmiConfig(Section, frozen=True, kw_only=True):
    host: str = "127.0.0.1"
    port: Port = 5038
    username: str
    secret_file: str
    connect_timeout_s: PositiveSeconds = 10.0
    # A frozen Asterisk keeps its TCP connection open and answers nothing: a Ping this
    # often, unanswered within ping_timeout_s, takes the feed offline and reconnects.
    ping_interval_s: PositiveSeconds = 10.0
    ping_timeout_s: PositiveSeconds = 5.0
    # Contract queue ids a desk's pause applies to; empty: every queue of the member.
    pause_queues: tuple[Identifier, ...] = ()


class StatsConfig(Section, frozen=True, kw_only=True):
    sl_threshold_s: PositiveSeconds = 60.0
    short_abandon_s: NonNegativeSeconds = 5.0
    snapshot_interval_s: PositiveSeconds = 60.0
    heartbeat_s: Annotated[float, msgspec.Meta(gt=0, le=30)] = 15.0  # contract: <= 30 s
    wrap_up_s: NonNegativeSeconds = 0.0  # > 0: agents show wrap_up this long after a call
    timezone: str = HOTLINE_TIMEZONE  # today's counts reset at local midnight


class QueueMapping(Section, frozen=True, kw_only=True):
    asterisk: str
    name: str = ""


class AgentMapping(Section, frozen=True, kw_only=True):
    interface: str
    agent: Identifier
    site: Identifier
    name: str = ""
    extension: str = ""


class CallersConfig(Section, frozen=True, kw_only=True):
    did_field: str = "Exten"  # the QueueCallerJoin field that holds the dialled number
    dids: dict[str, str] = msgspec.field(default_factory=dict)  # number -> municipality


class BridgeConfig(Section, frozen=True, kw_only=True):
    ami: AmiConfig
    mqtt: MqttConfig = MqttConfig()
    stats: StatsConfig = StatsConfig()
    queues: dict[Identifier, QueueMapping]
    agents: tuple[AgentMapping, ...] = ()
    callers: CallersConfig = CallersConfig()

    @property
    def secret(self) -> str:
        lines = Path(self.ami.secret_file).read_text(encoding="utf-8").splitlines()
        return lines[0].strip() if lines else ""


def _duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _check(config: BridgeConfig) -> list[str]:
    errors = []
    if not config.queues:
        errors.append("queues: configure at least one queue ([queues.<id>] asterisk = ...)")
    for asterisk in _duplicates([queue.asterisk for queue in config.queues.values()]):
        errors.append(f"queues: Asterisk queue {asterisk!r} is mapped twice")
    for key in ("interface", "agent"):
        for value in _duplicates([getattr(agent, key) for agent in config.agents]):
            errors.append(f"agents.{key}: {value!r} appears twice")
    for agent in config.agents:
        if agent.site == UNASSIGNED_SITE:
            errors.append(f"agents.site: {UNASSIGNED_SITE!r} is reserved for unknown members")
    for queue in config.ami.pause_queues:
        if queue not in config.queues:
            errors.append(f"ami.pause_queues: {queue!r} is not one of [queues]")
    for number, code in config.callers.dids.items():
        if not MUNICIPALITY_CODE.fullmatch(code):
            errors.append(f"callers.dids.{number}: {code!r} is not a 3-digit municipality code")
    if config.stats.short_abandon_s > config.stats.sl_threshold_s:
        # A short abandon is also one within the threshold: the service levels subtract it.
        errors.append("stats.short_abandon_s: must not be above stats.sl_threshold_s")
    return errors + check_timezone("stats.timezone", config.stats.timezone)


def parse_bridge_config(text: str, source: str = "bridge config") -> BridgeConfig:
    return parse_toml(text, BridgeConfig, source, _check)


def load_bridge_config(path: str | Path) -> BridgeConfig:
    return read_toml(path, parse_bridge_config)
