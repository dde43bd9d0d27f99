"""A call centre in miniature: the shared hotline's queues, callers and staff.

Time moves only through `step(dt)`; randomness only through the injected `random.Random`,
so a seed replays an evening exactly. Callers arrive as a Poisson process weighted by
municipality population, give up after an exponentially distributed patience, and talk
for a log-normal time; staff log in and out of the shift, pause and take wrap-up.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from appliance.core.contract import (
    VERSION,
    AgentCounts,
    AgentDay,
    AgentState,
    AgentStateName,
    Caller,
    DayCounts,
    QueueState,
)
from appliance.core.hours import COPENHAGEN
from appliance.drivers.municipalities import shipped_municipalities

SL_THRESHOLD_S = 60.0
SHORT_ABANDON_S = 5.0
PAUSE_REASONS = ("Frokost", "Pause", "Møde", "Administration")

# (queue id, name, share of calls)
QUEUES: tuple[tuple[str, str, float], ...] = (
    ("borger", "Digital hotline – borgere", 0.80),
    ("erhverv", "Digital hotline – erhverv", 0.14),
    ("forening", "Digital hotline – foreninger", 0.06),
)

# About 20 staff from the municipal service centres take turns on the phones.
STAFF: tuple[tuple[str, str], ...] = (
    ("Mette Jensen", "favrskov"),
    ("Lars Nielsen", "aarhus"),
    ("Anne Hansen", "aarhus"),
    ("Søren Pedersen", "silkeborg"),
    ("Hanne Andersen", "randers"),
    ("Jens Christensen", "viborg"),
    ("Birgitte Larsen", "horsens"),
    ("Peter Sørensen", "herning"),
    ("Kirsten Rasmussen", "skanderborg"),
    ("Michael Jørgensen", "holstebro"),
    ("Lone Petersen", "syddjurs"),
    ("Henrik Madsen", "norddjurs"),
    ("Susanne Kristensen", "hedensted"),
    ("Thomas Olsen", "ikast-brande"),
    ("Camilla Thomsen", "ringkobing-skjern"),
    ("Rasmus Poulsen", "skive"),
    ("Louise Johansen", "odder"),
    ("Jesper Møller", "struer"),
    ("Maria Mortensen", "lemvig"),
    ("Ole Knudsen", "samso"),
)


@dataclass(slots=True)
class SimCaller:
    id: str
    queue: str
    since: datetime
    arrived: float
    patience_s: float
    municipality: str


@dataclass(slots=True)
class SimAgent:
    id: str
    name: str
    site: str
    extension: str
    queues: tuple[str, ...]
    state: AgentStateName = "logged_out"
    reason: str | None = None
    since: datetime = field(default_factory=lambda: datetime.now(COPENHAGEN))
    until: float = math.inf  # simulated time the current activity ends
    talk_s: float = 0.0
    caller: SimCaller | None = None
    pause_after_call: str | None = None
    day: AgentDay = field(default_factory=AgentDay)  # its own counts (v1.1 `today`)


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: exact and cheap for the small means of one step."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class CallCenter:
    def __init__(
        self,
        rng: random.Random,
        start: datetime,
        *,
        calls_per_hour: float = 95.0,
        on_duty_target: int = 7,
    ) -> None:
        self.rng = rng
        self.wall = start.astimezone(COPENHAGEN)
        self.t = 0.0
        self.calls_per_hour = calls_per_hour
        self.on_duty_target = on_duty_target
        self.municipalities = shipped_municipalities()
        self._weights = [m.population for m in self.municipalities]
        self.waiting: dict[str, list[SimCaller]] = {queue: [] for queue, _, _ in QUEUES}
        self.counts = {queue: DayCounts(self.wall.date()) for queue, _, _ in QUEUES}
        self.agents: dict[str, SimAgent] = {}
        for index, (name, site) in enumerate(STAFF):
            extension = str(2101 + index)
            queues: tuple[str, ...] = ("borger",)
            if index % 3 == 0:
                queues = ("borger", "erhverv", "forening")
            if index % 4 == 1:
                queues = ("borger", "erhverv")
            self.agents[f"a{extension}"] = SimAgent(
                f"a{extension}", name, site, extension, queues, since=self.wall
            )
        self._serial = 0
        self._changed_queues: set[str] = set()
        self._changed_agents: set[str] = set()

    # --- the passage of time ---------------------------------------------------------

    def step(self, dt: float) -> tuple[set[str], set[str]]:
        """Advance `dt` simulated seconds; return the queues and agents that changed."""
        self._changed_queues, self._changed_agents = set(), set()
        self.t += dt
        self.wall += timedelta(seconds=dt)
        if self.wall.date() != next(iter(self.counts.values())).day:
            self.counts = {queue: DayCounts(self.wall.date()) for queue in self.counts}
            self._changed_queues.update(self.counts)
            for agent in self.agents.values():  # each agent's day starts again too
                agent.day = agent.day.next_day(self.wall)
        self._arrivals(dt)
        self._abandons()
        self._finish_activities()
        self._staffing(dt)
        self._dispatch()
        # A waiting queue changes every step: its longest wait grows.
        self._changed_queues.update(q for q, callers in self.waiting.items() if callers)
        return self._changed_queues, self._changed_agents

    def _arrivals(self, dt: float) -> None:
        for queue, _, share in QUEUES:
            for _ in range(_poisson(self.rng, self.calls_per_hour * share * dt / 3600)):
                self._serial += 1
                municipality = self.rng.choices(self.municipalities, self._weights)[0]
                self.waiting[queue].append(
                    SimCaller(
                        id=f"{int(self.wall.timestamp())}.{self._serial}",
                        queue=queue,
                        since=self.wall,
                        arrived=self.t,
                        patience_s=self.rng.expovariate(1 / 300),
                        municipality=municipality.code,
                    )
                )
                self.counts[queue].offered += 1
                self.counts[queue].tally(municipality.code).offered += 1
                self._changed_queues.add(queue)

    def _abandons(self) -> None:
        for queue, callers in self.waiting.items():
            for caller in [c for c in callers if self.t - c.arrived > c.patience_s]:
                callers.remove(caller)
                counts = self.counts[queue]
                waited = self.t - caller.arrived
                counts.abandoned += 1
                counts.short_abandoned += waited < SHORT_ABANDON_S
                counts.abandoned_within_sl += waited <= SL_THRESHOLD_S
                counts.tally(caller.municipality).abandoned += 1
                self._changed_queues.add(queue)

    def _set_state(
        self,
        agent: SimAgent,
        state: AgentStateName,
        reason: str | None = None,
        duration_s: float = math.inf,
    ) -> None:
        agent.day.set_on_duty(state != "logged_out", self.wall)
        agent.state, agent.reason = state, reason
        agent.since = self.wall
        agent.until = self.t + duration_s
        self._changed_agents.add(agent.id)
        self._changed_queues.update(agent.queues)

    def _finish_activities(self) -> None:
        for agent in self.agents.values():
            if self.t < agent.until:
                continue
            if agent.state == "ringing" and agent.caller is not None:
                self._answer(agent, agent.caller)
            elif agent.state == "busy":
                counts = self.counts[agent.caller.queue if agent.caller else "borger"]
                counts.talk_s += agent.talk_s
                agent.day.talk_s += agent.talk_s
                wrap_s = self.rng.uniform(10, 45)
                counts.wrap_s += wrap_s
                agent.day.wrap_s += wrap_s
                agent.caller = None
                self._set_state(agent, "wrap_up", duration_s=wrap_s)
            elif agent.state == "wrap_up" and agent.pause_after_call:
                reason, agent.pause_after_call = agent.pause_after_call, None
                self._set_state(agent, "paused", reason, self.rng.uniform(180, 900))
            elif agent.state in ("wrap_up", "paused"):
                self._set_state(agent, "available")

    def _answer(self, agent: SimAgent, caller: SimCaller) -> None:
        waited = self.t - caller.arrived
        counts = self.counts[caller.queue]
        counts.answered += 1
        counts.answered_within_sl += waited <= SL_THRESHOLD_S
        counts.wait_answered_s += waited
        tally = counts.tally(caller.municipality)
        tally.answered += 1
        tally.answered_within_sl += waited <= SL_THRESHOLD_S
        agent.day.answered += 1
        agent.talk_s = self.rng.lognormvariate(math.log(200), 0.5)
        self._set_state(agent, "busy", duration_s=agent.talk_s)

    def _staffing(self, dt: float) -> None:
        on_duty = [a for a in self.agents.values() if a.state != "logged_out"]
        off_duty = [a for a in self.agents.values() if a.state == "logged_out"]
        # Shift changes: about one an hour in each direction, more when off target.
        too_few = len(on_duty) < self.on_duty_target
        if off_duty and self.rng.random() < dt / 3600 * (1 + 4 * too_few):
            self._set_state(self.rng.choice(off_duty), "available")
        leaving = [a for a in on_duty if a.state in ("available", "paused")]
        too_many = len(on_duty) > self.on_duty_target
        if leaving and self.rng.random() < dt / 3600 * (1 + 4 * too_many):
            self._set_state(self.rng.choice(leaving), "logged_out")
        for agent in on_duty:
            if agent.state == "available" and self.rng.random() < dt / 3600 * 1.2:
                reason = self.rng.choice(PAUSE_REASONS)
                self._set_state(agent, "paused", reason, self.rng.uniform(180, 900))

    def _dispatch(self) -> None:
        free = [a for a in self.agents.values() if a.state == "available"]
        self.rng.shuffle(free)
        for agent in free:
            candidates = [self.waiting[q][0] for q in agent.queues if self.waiting[q]]
            if not candidates:
                continue
            caller = min(candidates, key=lambda c: c.arrived)
            self.waiting[caller.queue].remove(caller)
            agent.caller = caller
            self._set_state(agent, "ringing", duration_s=self.rng.uniform(2, 6))

    # --- requests from the desks -----------------------------------------------------

    def request(self, agent_id: str, site: str, state: str, reason: str | None) -> str | None:
        """Apply an availability request as the phone system would; an error text or None."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return "unknown agent"
        if agent.site != site:
            return "agent belongs to another site"
        if agent.state == "logged_out":
            return "agent is not logged in"
        if state == "paused":
            if agent.state in ("ringing", "busy"):
                agent.pause_after_call = reason or "Pause"  # paused once the call ends
            elif agent.state != "paused":
                self._set_state(agent, "paused", reason or "Pause", self.rng.uniform(600, 1800))
        elif agent.state == "paused":
            self._set_state(agent, "available")
        else:
            agent.pause_after_call = None
        return None

    def warm_up(self, seconds: float, dt: float = 1.0) -> None:
        """Play the evening so far, so a demo starts mid-shift with today's counts."""
        for agent in list(self.agents.values())[: self.on_duty_target]:
            self._set_state(agent, "available")
        for _ in range(int(seconds / dt)):
            self.step(dt)

    # --- the contract's view -----------------------------------------------------------

    def queue_state(self, queue: str, name: str) -> QueueState:
        callers = self.waiting[queue]
        tally = dict.fromkeys(("available", "ringing", "busy", "wrap_up", "paused"), 0)
        for agent in self.agents.values():
            if queue in agent.queues and agent.state in tally:
                tally[agent.state] += 1
        counts = self.counts[queue]
        return QueueState(
            v=VERSION,
            queue=queue,
            name=name,
            ts=self.wall,
            waiting=len(callers),
            longest_wait_s=round(self.t - callers[0].arrived, 1) if callers else 0.0,
            callers=tuple(
                Caller(id=c.id, since=c.since, municipality=c.municipality) for c in callers[:500]
            ),
            agents=AgentCounts(logged_in=sum(tally.values()), **tally),
            today=counts.today(SL_THRESHOLD_S),
        )

    def agent_state(self, agent_id: str) -> AgentState:
        agent = self.agents[agent_id]
        return AgentState(
            v=VERSION,
            agent=agent.id,
            site=agent.site,
            state=agent.state,
            ts=self.wall,
            name=agent.name,
            reason=agent.reason if agent.state == "paused" else None,
            since=agent.since,
            queues=agent.queues,
            extension=agent.extension,
            today=agent.day.today(self.wall.date(), self.wall),
        )
