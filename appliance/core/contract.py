"""The MQTT contract v1 as code: topics, payload types and one strict decoder.

Everything from the broker passes through :func:`decode`, which returns either an
event for the board or a :class:`Rejected` that says why the message was dropped.
Nothing malformed gets further than this module.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal, TypeAlias, TypeVar

import msgspec

from appliance.core.values import Shared, clean_text

VERSION = 1
MAX_PAYLOAD_BYTES = 64 * 1024
# A day's rota may hold 500 shifts of about 140 bytes each: more than any other payload.
MAX_ROTA_BYTES = 256 * 1024
MAX_NAME_CHARS = 64
MAX_TICKER_CHARS = 200
MAX_CALLERS = 500
DEFAULT_PREFIX = "hotline/v1"
# The hotline's own time zone: the phone system's "today", opening hours, the CLI's clock.
HOTLINE_TIMEZONE = "Europe/Copenhagen"

IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")  # always used with fullmatch()

# Bounds well above anything a phone system produces, so absurd numbers are rejected
# instead of being shown on a wall.
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000_000)]
Seconds = Annotated[float, msgspec.Meta(ge=0, le=100_000_000)]
Timestamp = Annotated[datetime, msgspec.Meta(tz=True)]
AgentStateName = Literal["available", "ringing", "busy", "wrap_up", "paused", "logged_out"]
AGENT_STATES: tuple[AgentStateName, ...] = (
    "available",
    "ringing",
    "busy",
    "wrap_up",
    "paused",
    "logged_out",
)
TickerLevel = Literal["info", "warning"]


class Payload(msgspec.Struct, frozen=True, kw_only=True):
    v: int


class AgentCounts(msgspec.Struct, frozen=True, kw_only=True):
    logged_in: Count = 0
    available: Count = 0
    ringing: Count = 0
    busy: Count = 0
    wrap_up: Count = 0
    paused: Count = 0


MunicipalityCode = Annotated[str, msgspec.Meta(pattern="^[0-9]{3}$")]
UNKNOWN_MUNICIPALITY = "000"  # callers whose municipality is not known (v1.1)
MAX_MUNICIPALITIES = 200  # Denmark has 98


class MunicipalityCounts(msgspec.Struct, frozen=True, kw_only=True):
    """v1.1: a queue's counts for the callers of one municipality."""

    offered: Count = 0
    answered: Count = 0
    abandoned: Count = 0
    answered_within_sl: Count = 0


class Today(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    offered: Count = 0
    answered: Count = 0
    abandoned: Count = 0
    short_abandoned: Count = 0
    answered_within_sl: Count = 0
    sl_threshold_s: Seconds | None = None
    wait_answered_s: Seconds = 0.0
    talk_s: Seconds = 0.0
    # v1.1, optional: a v1 publisher sends none of them, and the figures that need one
    # are then "–".
    abandoned_within_sl: Count | None = None
    wrap_s: Seconds | None = None
    by_municipality: (
        Annotated[
            dict[MunicipalityCode, MunicipalityCounts], msgspec.Meta(max_length=MAX_MUNICIPALITIES)
        ]
        | None
    ) = None


class AgentToday(msgspec.Struct, frozen=True, kw_only=True):
    """v1.1: one agent's own counts for the day (`on_duty_s`: in any state but logged out)."""

    date: date
    answered: Count = 0
    talk_s: Seconds = 0.0
    wrap_s: Seconds = 0.0
    on_duty_s: Seconds = 0.0


@dataclass(slots=True)
class Tally:
    """Counts of one municipality's callers, as a publisher keeps them while counting."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    answered_within_sl: int = 0

    def plus(self, other: Tally) -> Tally:
        return Tally(
            *(
                a + b
                for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other), strict=True)
            )
        )


@dataclass(slots=True)
class AgentDay:
    """One agent's own counts for the day as a publisher keeps them (v1.1 `today`)."""

    answered: int = 0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    on_duty_s: float = 0.0  # before `on_since`
    on_since: datetime | None = None  # on duty (any state but logged out) since

    def on_duty_until(self, now: datetime) -> float:
        running = (now - self.on_since).total_seconds() if self.on_since else 0.0
        return self.on_duty_s + max(0.0, running)

    def set_on_duty(self, on: bool, now: datetime) -> None:
        """Start or stop the on-duty clock as the agent logs in or out."""
        if not on and self.on_since is not None:
            self.on_duty_s, self.on_since = self.on_duty_until(now), None
        elif on and self.on_since is None:
            self.on_since = now

    def next_day(self, midnight: datetime) -> AgentDay:
        """The next day's, from zero; on duty over midnight counts from midnight."""
        return AgentDay(on_since=midnight if self.on_since is not None else None)

    def today(self, day: date, now: datetime, seed: AgentToday | None = None) -> AgentToday:
        """The payload: these counts, plus a `seed` from before a restart."""
        return AgentToday(
            date=day,
            answered=self.answered + (seed.answered if seed else 0),
            talk_s=round(self.talk_s + (seed.talk_s if seed else 0.0), 1),
            wrap_s=round(self.wrap_s + (seed.wrap_s if seed else 0.0), 1),
            on_duty_s=round(self.on_duty_until(now) + (seed.on_duty_s if seed else 0.0), 1),
        )


_SUMMED = ("offered", "answered", "abandoned", "short_abandoned", "answered_within_sl",
           "abandoned_within_sl", "wait_answered_s", "talk_s", "wrap_s")  # fmt: skip


@dataclass(slots=True)
class DayCounts:
    """Today's counts as a publisher keeps them while counting; `today()` is the payload."""

    day: date
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    answered_within_sl: int = 0
    abandoned_within_sl: int = 0
    wait_answered_s: float = 0.0
    talk_s: float = 0.0
    wrap_s: float = 0.0
    by_municipality: dict[str, Tally] = dataclasses.field(default_factory=dict)
    # False when part of the day came from a v1 payload (a bridge upgraded mid-day): the
    # v1.1 parts then cover only part of the day and are published as not known.
    split: bool = True

    @classmethod
    def from_today(cls, today: Today) -> DayCounts:
        """The counts a payload carries (a v1 payload's missing v1.1 parts as zero)."""
        return cls(
            day=today.date,
            offered=today.offered,
            answered=today.answered,
            abandoned=today.abandoned,
            short_abandoned=today.short_abandoned,
            answered_within_sl=today.answered_within_sl,
            abandoned_within_sl=today.abandoned_within_sl or 0,
            wait_answered_s=today.wait_answered_s,
            talk_s=today.talk_s,
            wrap_s=today.wrap_s or 0.0,
            split=today.abandoned_within_sl is not None and today.by_municipality is not None,
            by_municipality={
                code: Tally(c.offered, c.answered, c.abandoned, c.answered_within_sl)
                for code, c in (today.by_municipality or {}).items()
            },
        )

    def is_empty(self) -> bool:
        return self == DayCounts(self.day)

    def tally(self, municipality: str | None) -> Tally:
        """The running tally of a municipality's callers (`000`: unknown)."""
        code = municipality or UNKNOWN_MUNICIPALITY
        found = self.by_municipality.get(code)
        if found is None:
            found = self.by_municipality[code] = Tally()
        return found

    def plus(self, other: DayCounts) -> DayCounts:
        """Both tallies of one day together (counts from before a restart, and since)."""
        summed = {name: getattr(self, name) + getattr(other, name) for name in _SUMMED}
        codes = self.by_municipality.keys() | other.by_municipality.keys()
        parts = {
            code: self.by_municipality.get(code, Tally()).plus(
                other.by_municipality.get(code, Tally())
            )
            for code in codes
        }
        return DayCounts(
            self.day, by_municipality=parts, split=self.split and other.split, **summed
        )

    def today(self, sl_threshold_s: float) -> Today:
        return Today(
            date=self.day,
            offered=self.offered,
            answered=self.answered,
            abandoned=self.abandoned,
            short_abandoned=self.short_abandoned,
            answered_within_sl=self.answered_within_sl,
            sl_threshold_s=sl_threshold_s,
            wait_answered_s=round(self.wait_answered_s, 1),
            talk_s=round(self.talk_s, 1),
            abandoned_within_sl=self.abandoned_within_sl if self.split else None,
            wrap_s=round(self.wrap_s, 1) if self.split else None,
            by_municipality={
                code: MunicipalityCounts(
                    offered=t.offered,
                    answered=t.answered,
                    abandoned=t.abandoned,
                    answered_within_sl=t.answered_within_sl,
                )
                for code, t in sorted(self.by_municipality.items())
            }
            if self.split
            else None,
        )


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    since: Timestamp
    municipality: str | None = None


class QueueState(Payload, frozen=True, kw_only=True):
    queue: str
    ts: Timestamp
    waiting: Count
    longest_wait_s: Seconds
    name: str | None = None
    callers: Annotated[tuple[Caller, ...], msgspec.Meta(max_length=MAX_CALLERS)] = ()
    agents: AgentCounts | None = None
    today: Today | None = None


class AgentState(Payload, frozen=True, kw_only=True):
    agent: str
    site: str
    state: AgentStateName
    ts: Timestamp
    name: str | None = None
    reason: str | None = None
    since: Timestamp | None = None
    queues: tuple[str, ...] = ()
    extension: str | None = None
    today: AgentToday | None = None  # v1.1


class TickerMessage(Payload, frozen=True, kw_only=True):
    text: str
    level: TickerLevel = "info"
    expires: Timestamp | None = None


ShiftRole = Literal["phone", "standby"]
MAX_SHIFTS = 500


class Shift(msgspec.Struct, frozen=True, kw_only=True):
    agent: str
    start: Timestamp
    end: Timestamp
    role: ShiftRole = "phone"
    name: str | None = None
    site: str | None = None


class Rota(Payload, frozen=True, kw_only=True):
    """v1.1 `{p}/rota/{date}`: who is expected on the phones, and who can be called in."""

    date: date
    ts: Timestamp
    shifts: Annotated[tuple[Shift, ...], msgspec.Meta(max_length=MAX_SHIFTS)] = ()


class SetRequest(Payload, frozen=True, kw_only=True):
    request_id: str
    agent: str
    site: str
    state: Literal["available", "paused"]
    ts: Timestamp
    expires: Timestamp
    desk: str | None = None
    reason: str | None = None


class SetResult(Payload, frozen=True, kw_only=True):
    request_id: str
    status: Literal["ok", "error"]
    error: str | None = None


# --- events handed to the board -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """`system/status`: True online, False offline or absent."""

    online: bool


@dataclass(frozen=True, slots=True)
class QueueUpdate:
    queue: str
    state: QueueState | None  # None: the queue was removed


@dataclass(frozen=True, slots=True)
class AgentUpdate:
    agent: str
    state: AgentState | None
    # False when `ts`/`since` cannot be believed (appliance.core.plausible): no time in state.
    times_believed: bool = True


@dataclass(frozen=True, slots=True)
class TickerUpdate:
    target: str
    message: TickerMessage | None


@dataclass(frozen=True, slots=True)
class SetResultUpdate:
    site: str
    agent: str
    result: SetResult


@dataclass(frozen=True, slots=True)
class SetRequestUpdate:
    site: str
    agent: str
    request: SetRequest


@dataclass(frozen=True, slots=True)
class RotaUpdate:
    day: date
    rota: Rota | None  # None: the day's rota was removed


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that was dropped; `reason` is a short, countable category."""

    reason: Literal["oversized", "malformed", "version", "identifier", "topic"]
    topic: str
    detail: str


Event: TypeAlias = (
    FeedStatus
    | QueueUpdate
    | AgentUpdate
    | TickerUpdate
    | SetResultUpdate
    | SetRequestUpdate
    | RotaUpdate
)


# --- topics ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topics:
    """Topic names under one prefix; the only place topic strings are assembled."""

    prefix: str = DEFAULT_PREFIX

    @property
    def system_status(self) -> str:
        return f"{self.prefix}/system/status"

    def queue(self, queue: str) -> str:
        return f"{self.prefix}/queues/{queue}"

    def agent(self, agent: str) -> str:
        return f"{self.prefix}/agents/{agent}"

    def messages(self, target: str) -> str:
        return f"{self.prefix}/messages/{target}"

    def rota(self, day: date | str) -> str:
        return f"{self.prefix}/rota/{day}"

    def set_request(self, site: str, agent: str) -> str:
        return f"{self.prefix}/sites/{site}/agents/{agent}/set"

    def set_result(self, site: str, agent: str) -> str:
        return f"{self.set_request(site, agent)}/result"

    def appliance_status(self, site: str, appliance: str) -> str:
        return f"{self.prefix}/sites/{site}/appliances/{appliance}/status"

    def appliance_health(self, site: str, appliance: str) -> str:
        return f"{self.prefix}/sites/{site}/appliances/{appliance}/health"

    def appliance_subscriptions(self, site: str) -> list[str]:
        """What an appliance of `site` listens to."""
        return [
            self.system_status,
            self.queue("+"),
            self.agent("+"),
            self.messages("all"),
            self.messages(site),
            self.set_result(site, "+"),
            self.rota("+"),
        ]

    def fleet_subscriptions(self) -> list[str]:
        """Every appliance's availability and health (for /fleet and `hotline fleet`)."""
        return [self.appliance_status("+", "+"), self.appliance_health("+", "+")]

    def fleet_topic(self, topic: str) -> tuple[str, str, Literal["status", "health"]] | None:
        """(site, appliance, kind) of an appliance's status or health topic, else None."""
        head = f"{self.prefix}/sites/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head) :].split("/")
        if len(parts) != 4 or parts[1] != "appliances" or parts[3] not in ("status", "health"):
            return None
        site, _, appliance, kind = parts
        if not (IDENTIFIER.fullmatch(site) and IDENTIFIER.fullmatch(appliance)):
            return None
        return site, appliance, "status" if kind == "status" else "health"

    def phone_system_subscriptions(self) -> list[str]:
        """What the phone-system side (simulator, bridge) listens to."""
        return [self.set_request("+", "+")]


# --- text -----------------------------------------------------------------------------


def _clean_optional(text: str | None, limit: int = MAX_NAME_CHARS) -> str | None:
    if text is None:
        return None
    return clean_text(text, limit) or None


# --- decoding -------------------------------------------------------------------------

_version_decoder = msgspec.json.Decoder(Payload)
_queue_decoder = msgspec.json.Decoder(QueueState)
_agent_decoder = msgspec.json.Decoder(AgentState)
_ticker_decoder = msgspec.json.Decoder(TickerMessage)
_result_decoder = msgspec.json.Decoder(SetResult)
_request_decoder = msgspec.json.Decoder(SetRequest)
_rota_decoder = msgspec.json.Decoder(Rota)


class _DropError(Exception):
    def __init__(self, reason: Literal["malformed", "version", "identifier"], detail: str):
        super().__init__(detail)
        self.reason: Literal["malformed", "version", "identifier"] = reason
        self.detail = detail


P = TypeVar("P", bound=Payload)


def _decode(decoder: msgspec.json.Decoder[P], payload: bytes) -> P:
    try:
        value = decoder.decode(payload)
    except msgspec.DecodeError as error:
        # A payload of another version may not fit v1's shape: say "version" if it is one.
        try:
            version = _version_decoder.decode(payload).v
        except msgspec.DecodeError:
            version = VERSION
        if version != VERSION:
            raise _DropError("version", f"v={version}") from error
        raise _DropError("malformed", str(error)) from error
    if value.v != VERSION:
        raise _DropError("version", f"v={value.v}")
    return value


def _require(identifier: str, found: str, what: str) -> None:
    if found != identifier:
        raise _DropError("identifier", f"{what} {found!r} does not match topic {identifier!r}")


def _decode_status(payload: bytes) -> FeedStatus:
    """`online`, `offline`, or empty (absent); anything else is malformed, not offline."""
    status = payload.strip()
    if status not in (b"online", b"offline", b""):
        raise _DropError("malformed", f"system/status {status[:40]!r}: not online or offline")
    return FeedStatus(status == b"online")


def _decode_queue(queue: str, payload: bytes) -> QueueUpdate:
    if not payload:
        return QueueUpdate(queue, None)
    state = _decode(_queue_decoder, payload)
    _require(queue, state.queue, "queue")
    cleaned = _clean_optional(state.name)
    if cleaned != state.name:
        state = msgspec.structs.replace(state, name=cleaned)
    return QueueUpdate(queue, state)


_sites: Shared[str] = Shared()
_queue_lists: Shared[tuple[str, ...]] = Shared()


def _decode_agent(agent: str, payload: bytes) -> AgentUpdate:
    if not payload:
        return AgentUpdate(agent, None)
    state = _decode(_agent_decoder, payload)
    _require(agent, state.agent, "agent")
    if not IDENTIFIER.fullmatch(state.site):
        raise _DropError("identifier", f"site {state.site!r} is not an identifier")
    name, reason = _clean_optional(state.name), _clean_optional(state.reason)
    if (name, reason) != (state.name, state.reason):
        state = msgspec.structs.replace(state, name=name, reason=reason)
    # Still this function's own struct, so sharing its values with others is safe.
    msgspec.structs.force_setattr(state, "site", _sites(state.site))
    msgspec.structs.force_setattr(state, "queues", _queue_lists(state.queues))
    return AgentUpdate(state.agent, state)  # the payload's id, equal to the topic's: one string


def _decode_ticker(target: str, payload: bytes) -> TickerUpdate:
    if not payload:
        return TickerUpdate(target, None)
    message = _decode(_ticker_decoder, payload)
    text = clean_text(message.text, MAX_TICKER_CHARS)
    if not text:
        return TickerUpdate(target, None)
    if text != message.text:
        message = msgspec.structs.replace(message, text=text)
    return TickerUpdate(target, message)


def _decode_rota(day_text: str, payload: bytes) -> RotaUpdate:
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise _DropError("identifier", f"rota date {day_text[:20]!r} is not YYYY-MM-DD") from None
    if not payload:
        return RotaUpdate(day, None)
    rota = _decode(_rota_decoder, payload)
    if rota.date != day:
        raise _DropError("identifier", f"rota for {rota.date} on the topic of {day}")
    shifts = []
    for shift in rota.shifts:
        if not IDENTIFIER.fullmatch(shift.agent):
            raise _DropError("identifier", f"shift agent {shift.agent[:40]!r}")
        if shift.site is not None and not IDENTIFIER.fullmatch(shift.site):
            raise _DropError("identifier", f"shift site {shift.site[:40]!r}")
        if shift.end <= shift.start:
            raise _DropError("malformed", f"shift of {shift.agent} ends before it starts")
        name = _clean_optional(shift.name)
        shifts.append(shift if name == shift.name else msgspec.structs.replace(shift, name=name))
    return RotaUpdate(day, msgspec.structs.replace(rota, shifts=tuple(shifts)))


def decode(topics: Topics, topic: str, payload: bytes) -> Event | Rejected:
    """Turn one MQTT message into a board event, or say why it was dropped."""
    prefix = topics.prefix + "/"
    parts = topic[len(prefix) :].split("/") if topic.startswith(prefix) else []
    limit = MAX_ROTA_BYTES if parts[:1] == ["rota"] else MAX_PAYLOAD_BYTES
    if len(payload) > limit:
        return Rejected("oversized", topic, f"{len(payload)} bytes")
    try:
        match parts:
            case ["system", "status"]:
                return _decode_status(payload)
            case [kind, ident, *_] if not IDENTIFIER.fullmatch(ident):
                raise _DropError("identifier", f"{kind} identifier {ident[:40]!r}")
            case ["queues", queue]:
                return _decode_queue(queue, payload)
            case ["agents", agent]:
                return _decode_agent(agent, payload)
            case ["messages", target]:
                return _decode_ticker(target, payload)
            case ["rota", day]:
                return _decode_rota(day, payload)
            case ["sites", site, "agents", agent, "set", "result"]:
                _check_identifier(agent)
                result = _decode(_result_decoder, payload)
                return SetResultUpdate(site, agent, result)
            case ["sites", site, "agents", agent, "set"]:
                _check_identifier(agent)
                request = _decode(_request_decoder, payload)
                _require(agent, request.agent, "agent")
                _require(site, request.site, "site")
                return SetRequestUpdate(site, agent, request)
    except _DropError as drop:
        return Rejected(drop.reason, topic, drop.detail)
    return Rejected("topic", topic, "not a topic of contract v1")


def _check_identifier(ident: str) -> None:
    if not IDENTIFIER.fullmatch(ident):
        raise _DropError("identifier", f"identifier {ident[:40]!r}")


def encode(payload: msgspec.Struct) -> bytes:
    return msgspec.json.encode(payload)
