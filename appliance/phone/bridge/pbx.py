"""What Asterisk's queues look like, folded from AMI events: no I/O, the clock passed in.

`apply(event, now)` and `apply_snapshot(events, now)` return what changed, and
`queue_state` / `agent_state` turn the model into contract payloads. Today's counts
are kept here from events (Asterisk's own counters reset on reload and its averages
are moving averages), and reset at local midnight.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec

from appliance.core.contract import (
    IDENTIFIER,
    MAX_CALLERS,
    VERSION,
    AgentCounts,
    AgentDay,
    AgentState,
    AgentStateName,
    AgentToday,
    Caller,
    DayCounts,
    QueueState,
    Today,
)
from appliance.core.values import clean_text
from appliance.phone.bridge.ami_protocol import Fields
from appliance.phone.bridge.config import UNASSIGNED_SITE, AgentMapping, BridgeConfig

# Asterisk's device states (AST_DEVICE_*), as QueueMember(Status) reports them.
NOT_INUSE, INUSE, BUSY, INVALID, UNAVAILABLE, RINGING, RINGINUSE, ONHOLD = 1, 2, 3, 4, 5, 6, 7, 8
_DEVICE_STATES: dict[int, AgentStateName] = {
    INUSE: "busy",
    BUSY: "busy",
    ONHOLD: "busy",
    RINGING: "ringing",
    RINGINUSE: "ringing",
    INVALID: "logged_out",
    UNAVAILABLE: "logged_out",
}
_MEMBER_EVENTS = frozenset(
    {"QueueMemberStatus", "QueueMemberPause", "QueueMemberAdded", "QueueMember"}
)


@dataclass(slots=True)
class Waiting:
    since: datetime
    municipality: str | None


@dataclass(slots=True)
class Member:
    """One interface: its device, and its membership (paused or not) per queue."""

    name: str
    status: int = NOT_INUSE
    paused: dict[str, bool] = field(default_factory=dict)  # Asterisk queue -> paused
    reason: str = ""
    wrap_up_until: datetime | None = None
    shown: tuple[AgentStateName, str] = ("logged_out", "")
    since: datetime | None = None
    day: AgentDay = field(default_factory=AgentDay)


@dataclass(slots=True)
class Changes:
    queues: set[str] = field(default_factory=set)  # contract queue ids
    members: set[str] = field(default_factory=set)  # interfaces

    def __bool__(self) -> bool:
        return bool(self.queues or self.members)


def derived_agent_id(interface: str) -> str:
    """`PJSIP/2101` -> `pjsip-2101`: an identifier for a member nobody configured."""
    text = re.sub(r"[^a-z0-9_-]+", "-", interface.lower()).strip("-_")[:32]
    return text if IDENTIFIER.fullmatch(text) else "member"


def _number(event: Fields, key: str) -> float:
    try:
        value = float(event.get(key, "0"))
    except ValueError:
        return 0.0
    return value if 0 <= value < 1e8 else 0.0


def _interface(event: Fields) -> str:
    return event.get("Interface") or event.get("Location") or event.get("StateInterface", "")


class Pbx:
    def __init__(self, config: BridgeConfig, now: datetime) -> None:
        self._config = config
        self._zone = ZoneInfo(config.stats.timezone)
        self.queue_ids = {mapping.asterisk: queue for queue, mapping in config.queues.items()}
        self._mappings = {agent.interface: agent for agent in config.agents}
        self.callers: dict[str, dict[str, Waiting]] = {name: {} for name in self.queue_ids}
        self.members: dict[str, Member] = {}
        self.day: date = now.astimezone(self._zone).date()
        # Counted by this process since it started; `seeds` are the counts the bridge had
        # published before a restart (taken once from the broker). Published: both added.
        self.today: dict[str, DayCounts] = {name: DayCounts(self.day) for name in self.queue_ids}
        self.seeds: dict[str, DayCounts | None] = dict.fromkeys(self.queue_ids)
        # Queues (contract ids) this run has published today: what the broker keeps of them
        # from then on is this run's own count, never a seed (a reconnect resends it).
        self.published: set[str] = set()
        # The same for each agent's own `today` (v1.1), by contract agent id.
        self.agent_seeds: dict[str, AgentToday] = {}
        self.published_agents: set[str] = set()

    # --- identity -----------------------------------------------------------------------

    def mapping(self, interface: str) -> AgentMapping:
        known = self._mappings.get(interface)
        if known is not None:
            return known
        extension = interface.rpartition("/")[2]
        return AgentMapping(
            interface=interface,
            agent=derived_agent_id(interface),
            site=UNASSIGNED_SITE,
            name=self.members[interface].name if interface in self.members else "",
            extension=extension if extension.isdigit() else "",
        )

    def interface_of(self, agent_id: str) -> str | None:
        for interface, mapping in self._mappings.items():
            if mapping.agent == agent_id:
                return interface
        return None

    def member_queues(self, interface: str) -> list[str]:
        member = self.members.get(interface)
        return sorted(self.queue_ids[name] for name in member.paused) if member else []

    # --- events -------------------------------------------------------------------------

    def roll_day(self, now: datetime) -> Changes:
        """At local midnight today's counts start again from zero."""
        day = now.astimezone(self._zone).date()
        if day == self.day:
            return Changes()
        self.day = day
        self.today = {name: DayCounts(self.day) for name in self.queue_ids}
        self.seeds = dict.fromkeys(self.queue_ids)  # yesterday's are no seeds for today
        self.published = set()
        self.agent_seeds, self.published_agents = {}, set()
        midnight = datetime.combine(day, datetime.min.time(), self._zone)
        for member in self.members.values():  # on duty over midnight: today's from 00:00
            member.day = member.day.next_day(midnight)
        return Changes(queues=set(self.queue_ids.values()), members=set(self.members))

    def apply(self, event: Fields, now: datetime) -> Changes:
        changes = self.roll_day(now)
        queue = event.get("Queue", "")
        if queue not in self.queue_ids:
            return changes  # a queue nobody configured
        name = event.get("Event", "")
        if name in _MEMBER_EVENTS or name == "QueueMemberRemoved":
            changes.members.add(self._member_event(name, queue, event))
            changes.queues.add(self.queue_ids[queue])
            return changes
        handler = _CALL_EVENTS.get(name)
        if handler is not None:
            handler(self, queue, event, now)
            changes.queues.add(self.queue_ids[queue])
            if interface := _interface(event):
                changes.members.add(interface)
        return changes

    def _member_event(self, name: str, queue: str, event: Fields) -> str:
        interface = _interface(event)
        member = self.members.get(interface)
        if name == "QueueMemberRemoved":
            if member is not None:
                member.paused.pop(queue, None)
            return interface
        if member is None:
            member = self.members[interface] = Member(name=event.get("MemberName", ""))
        member.name = event.get("MemberName") or event.get("Name") or member.name
        member.status = int(_number(event, "Status")) if "Status" in event else member.status
        paused = event.get("Paused", "0") in ("1", "true", "yes")
        member.paused[queue] = paused
        if paused:
            member.reason = event.get("PausedReason") or event.get("Reason") or member.reason
        elif not any(member.paused.values()):
            member.reason = ""
        if member.status in _DEVICE_STATES:
            member.wrap_up_until = None
        return interface

    def _join(self, queue: str, event: Fields, now: datetime) -> None:
        number = event.get(self._config.callers.did_field, "")
        municipality = self._config.callers.dids.get(number)
        self.callers[queue][event.get("Uniqueid", "")] = Waiting(now, municipality)
        counts = self.today[queue]
        counts.offered += 1
        counts.tally(municipality).offered += 1

    def _leave(self, queue: str, event: Fields, _now: datetime) -> Waiting | None:
        return self.callers[queue].pop(event.get("Uniqueid", ""), None)

    def _abandon(self, queue: str, event: Fields, now: datetime) -> None:
        caller = self._leave(queue, event, now)
        counts = self.today[queue]
        counts.abandoned += 1
        counts.tally(self._municipality(caller, event)).abandoned += 1
        waited = _number(event, "HoldTime")
        if waited < self._config.stats.short_abandon_s:
            counts.short_abandoned += 1
        if waited <= self._config.stats.sl_threshold_s:
            counts.abandoned_within_sl += 1

    def _device(self, event: Fields, status: int, *, unless: tuple[int, ...] = ()) -> None:
        member = self.members.get(_interface(event))
        if member is not None and member.status not in unless:
            member.status = status

    def _called(self, _queue: str, event: Fields, _now: datetime) -> None:
        self._device(event, RINGING, unless=(INUSE, BUSY, ONHOLD))

    def _no_answer(self, _queue: str, event: Fields, _now: datetime) -> None:
        self._device(event, NOT_INUSE, unless=(INUSE, BUSY, ONHOLD))

    def _municipality(self, caller: Waiting | None, event: Fields) -> str | None:
        """The caller's municipality: as counted at join, or from the event's own dialled
        number (Asterisk sends QueueCallerLeave before AgentConnect: the caller has gone)."""
        if caller is not None:
            return caller.municipality
        return self._config.callers.dids.get(event.get(self._config.callers.did_field, ""))

    def _connect(self, queue: str, event: Fields, now: datetime) -> None:
        caller = self._leave(queue, event, now)
        self._device(event, INUSE)
        wait = _number(event, "HoldTime")
        within = wait <= self._config.stats.sl_threshold_s
        counts = self.today[queue]
        counts.answered += 1
        counts.wait_answered_s += wait
        counts.answered_within_sl += within
        tally = counts.tally(self._municipality(caller, event))
        tally.answered += 1
        tally.answered_within_sl += within
        member = self.members.get(_interface(event))
        if member is not None:
            member.day.answered += 1

    def _complete(self, queue: str, event: Fields, now: datetime) -> None:
        self._device(event, NOT_INUSE)
        talk, wrap = _number(event, "TalkTime"), self._config.stats.wrap_up_s
        counts = self.today[queue]
        counts.talk_s += talk
        counts.wrap_s += wrap  # the after-call work Asterisk holds each member for
        member = self.members.get(_interface(event))
        if member is not None:
            member.day.talk_s += talk
            member.day.wrap_s += wrap
            if wrap > 0:
                member.wrap_up_until = now + timedelta(seconds=wrap)

    def apply_snapshot(self, events: Iterable[Fields], now: datetime) -> Changes:
        """Replace queues, members and callers with what QueueStatus reported.

        This repairs drift: a caller whose leave event was lost is gone after the next
        snapshot, and so is a member removed while we were not listening.
        """
        changes = self.roll_day(now)
        changes.queues |= set(self.queue_ids.values())
        entries: dict[str, list[Fields]] = {name: [] for name in self.queue_ids}
        reported: dict[str, set[str]] = {name: set() for name in self.queue_ids}
        for event in events:
            queue = event.get("Queue", "")
            if queue not in self.queue_ids:
                continue
            if event.get("Event") == "QueueEntry":
                entries[queue].append(event)
            elif event.get("Event") == "QueueMember":
                reported[queue].add(self._member_event("QueueMember", queue, event))
        for queue, queue_entries in entries.items():
            known = self.callers[queue]
            queue_entries.sort(key=lambda entry: _number(entry, "Position"))
            self.callers[queue] = {
                entry.get("Uniqueid", ""): known.get(entry.get("Uniqueid", ""))
                or Waiting(now - timedelta(seconds=_number(entry, "Wait")), None)
                for entry in queue_entries
            }
        for interface, member in self.members.items():
            for queue in list(member.paused):
                if interface not in reported[queue]:
                    del member.paused[queue]
            changes.members.add(interface)
        return changes

    def seed_today(self, queue_id: str, today: Today) -> bool:
        """Take over counts this bridge published before a restart, for the same day.

        Taken once per queue and day, and added to what this process counted itself: calls
        counted before the broker's retained state arrived are neither lost nor doubled,
        and the bridge's own later states (seen again after a reconnect) are not seeds.
        """
        for name, queue in self.queue_ids.items():
            if (
                queue == queue_id
                and today.date == self.day
                and self.seeds[name] is None
                and queue not in self.published
            ):
                self.seeds[name] = DayCounts.from_today(today)
                return not self.seeds[name].is_empty()  # type: ignore[union-attr]
        return False

    def seed_agent(self, agent_id: str, today: AgentToday) -> bool:
        """The same for an agent's own counts (v1.1), once per agent and day."""
        if today.date != self.day or agent_id in self.agent_seeds:
            return False
        if agent_id in self.published_agents:
            return False
        self.agent_seeds[agent_id] = today
        return True

    def counts(self, name: str) -> DayCounts:
        """Today's counts as published: the seed from before a restart, plus our own."""
        seed, own = self.seeds[name], self.today[name]
        return own if seed is None else seed.plus(own)

    # --- contract payloads --------------------------------------------------------------

    def _derived(self, member: Member, now: datetime) -> tuple[AgentStateName, str]:
        if not member.paused:
            return ("logged_out", "")
        device = _DEVICE_STATES.get(member.status)
        if device is not None:
            return (device, "")
        if all(member.paused.values()):
            return ("paused", member.reason)
        if member.wrap_up_until is not None and now < member.wrap_up_until:
            return ("wrap_up", "")
        return ("available", "")

    def agent_state(self, interface: str, now: datetime) -> AgentState | None:
        """The contract state; None: a member nobody configured has left every queue."""
        member = self.members.get(interface)
        mapping = self.mapping(interface)
        if member is None or (not member.paused and interface not in self._mappings):
            return None
        shown = self._derived(member, now)
        if shown != member.shown or member.since is None:
            member.shown, member.since = shown, now
        state, reason = shown
        member.day.set_on_duty(state != "logged_out", now)
        return AgentState(
            v=VERSION,
            agent=mapping.agent,
            site=mapping.site,
            state=state,
            reason=clean_text(reason, 64) or None if state == "paused" else None,
            ts=now,
            name=clean_text(mapping.name or member.name, 64) or None,
            since=member.since,
            queues=tuple(self.member_queues(interface)),
            extension=mapping.extension or None,
            today=member.day.today(self.day, now, self.agent_seeds.get(mapping.agent)),
        )

    def next_wrap_up_end(self) -> datetime | None:
        ends = [m.wrap_up_until for m in self.members.values() if m.wrap_up_until is not None]
        return min(ends, default=None)

    def end_wrap_ups(self, now: datetime) -> Changes:
        changes = Changes()
        for interface, member in self.members.items():
            if member.wrap_up_until is not None and member.wrap_up_until <= now:
                member.wrap_up_until = None
                changes.members.add(interface)
        return changes

    def queue_state(self, queue_id: str, now: datetime) -> QueueState:
        name = self._config.queues[queue_id].asterisk
        callers = self.callers[name]
        oldest = min((waiting.since for waiting in callers.values()), default=now)
        tally: dict[str, int] = {}
        for member in self.members.values():
            if name in member.paused:
                state = self._derived(member, now)[0]
                tally[state] = tally.get(state, 0) + 1
        logged_in = sum(n for state, n in tally.items() if state != "logged_out")
        counts = AgentCounts(
            logged_in=logged_in, **{k: v for k, v in tally.items() if k != "logged_out"}
        )
        return QueueState(
            v=VERSION,
            queue=queue_id,
            name=self._config.queues[queue_id].name or None,
            ts=now,
            waiting=len(callers),
            longest_wait_s=round(max(0.0, (now - oldest).total_seconds()), 1),
            callers=tuple(
                Caller(id=uniqueid, since=waiting.since, municipality=waiting.municipality)
                for uniqueid, waiting in list(callers.items())[:MAX_CALLERS]
            ),
            agents=counts,
            today=self._today(name),
        )

    def _today(self, name: str) -> Today:
        today = self.counts(name).today(self._config.stats.sl_threshold_s)
        if self._config.stats.wrap_up_s <= 0:  # Asterisk holds no wrap-up: its time unknown
            today = msgspec.structs.replace(today, wrap_s=None)
        return today


_CALL_EVENTS = {
    "QueueCallerJoin": Pbx._join,
    "QueueCallerLeave": Pbx._leave,
    "QueueCallerAbandon": Pbx._abandon,
    "AgentCalled": Pbx._called,
    "AgentRingNoAnswer": Pbx._no_answer,
    "AgentConnect": Pbx._connect,
    "AgentComplete": Pbx._complete,
}
