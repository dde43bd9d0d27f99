"""The phone-system simulator: a believable evening, and requests handled by the contract."""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

import aiomqtt

from appliance.core.contract import Topics
from appliance.phone.simulator.model import QUEUES, CallCenter
from appliance.phone.simulator.runner import SimulatorSettings
from tests.support import payloads
from tests.support.mosquitto import Mosquitto
from tests.support.simulation import simulating

START = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)  # a Sunday, 18:30 in Copenhagen


def evening(seed: int = 7, hours: float = 3.0) -> CallCenter:
    center = CallCenter(random.Random(seed), START, calls_per_hour=95, on_duty_target=7)
    center.warm_up(hours * 3600)
    return center


def test_a_seed_replays_the_same_evening() -> None:
    first, second = evening(), evening()
    assert first.queue_state("borger", "b") == second.queue_state("borger", "b")


def test_every_call_is_accounted_for() -> None:
    center = evening(hours=4)
    offered = sum(c.offered for c in center.counts.values())
    answered = sum(c.answered for c in center.counts.values())
    abandoned = sum(c.abandoned for c in center.counts.values())
    waiting = sum(len(callers) for callers in center.waiting.values())
    in_service = sum(1 for a in center.agents.values() if a.state == "ringing")
    assert offered == answered + abandoned + waiting + in_service
    # Poisson arrivals at 95 an hour for 4 hours: 380 expected, well within 5 sigma.
    assert abs(offered - 380) < 5 * 380**0.5
    assert 0.5 < answered / offered <= 1.0
    # v1.1: every queue's parts by municipality add up to its totals; the agents' own
    # answered calls to the queues'.
    for counts in center.counts.values():
        for field in ("offered", "answered", "abandoned", "answered_within_sl"):
            parts = sum(getattr(t, field) for t in counts.by_municipality.values())
            assert parts == getattr(counts, field), field
        assert counts.abandoned_within_sl <= counts.abandoned
        assert counts.wrap_s > 0
    assert sum(agent.day.answered for agent in center.agents.values()) == answered
    assert set().union(*(c.by_municipality for c in center.counts.values())) <= {
        m.code for m in center.municipalities
    }


def test_the_shift_stays_near_its_target_and_agents_pause() -> None:
    center = evening()
    states = [a.state for a in center.agents.values()]
    assert 4 <= sum(s != "logged_out" for s in states) <= 11
    seen_paused = False
    for _ in range(3600):
        center.step(1.0)
        seen_paused |= any(a.state == "paused" for a in center.agents.values())
    assert seen_paused


def test_requests_follow_the_phone_systems_rules() -> None:
    center = evening()
    agent = next(a for a in center.agents.values() if a.state in ("available", "wrap_up"))
    assert center.request(agent.id, "elsewhere", "paused", "Pause") == (
        "agent belongs to another site"
    )
    assert center.request("a9999", agent.site, "paused", None) == "unknown agent"
    assert center.request(agent.id, agent.site, "paused", "Frokost") is None
    assert (agent.state, agent.reason) == ("paused", "Frokost")
    assert center.request(agent.id, agent.site, "available", None) is None
    assert agent.state == "available"
    off = next(a for a in center.agents.values() if a.state == "logged_out")
    assert center.request(off.id, off.site, "available", None) == "agent is not logged in"


class Watcher:
    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.latest: dict[str, bytes] = {}

    async def until(self, topic: str, check=lambda payload: True, timeout: float = 10) -> bytes:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(timeout):
            while topic not in self.latest or not check(self.latest[topic]):
                message = await anext(aiter(self.client.messages))
                self.latest[message.topic.value] = bytes(message.payload)  # type: ignore[arg-type]
        return self.latest[topic]


async def test_simulator_publishes_the_contract_and_answers_requests(
    broker: Mosquitto, topics: Topics
) -> None:
    async with (
        aiomqtt.Client("127.0.0.1", broker.port) as client,
        simulating(broker, topics, seed=3, warm_up_s=3600) as simulator,
    ):
        await client.subscribe(f"{topics.prefix}/#", qos=1)
        watch = Watcher(client)
        assert await watch.until(topics.system_status) == b"online"
        for queue, _, _ in QUEUES:
            state = json.loads(await watch.until(topics.queue(queue)))
            assert state["v"] == 1
            assert state["today"]["offered"] >= 0

        agent = next(
            a
            for a in simulator.center.agents.values()
            if a.state in ("available", "wrap_up", "paused")
        )
        target = "available" if agent.state == "paused" else "paused"

        async def ask(site: str, state: str, expires_in: float, request_id: str) -> dict:
            request = {
                "v": 1,
                "request_id": request_id,
                "agent": agent.id,
                "site": site,
                "desk": "desk-1",
                "state": state,
                "reason": "Pause",
                "ts": payloads.iso(),
                "expires": payloads.iso(seconds=expires_in),
            }
            await client.publish(topics.set_request(site, agent.id), json.dumps(request), qos=1)
            result = await watch.until(
                topics.set_result(site, agent.id),
                lambda p: json.loads(p)["request_id"] == request_id,
            )
            return dict(json.loads(result))

        assert (await ask(agent.site, target, 60, "r1"))["status"] == "ok"
        await watch.until(topics.agent(agent.id), lambda p: json.loads(p)["state"] == target)

        refused = await ask(agent.site, "available", -1, "r2")
        assert refused == {
            "v": 1,
            "request_id": "r2",
            "status": "error",
            "error": "request expired",
        }
        other = "aarhus" if agent.site != "aarhus" else "favrskov"
        refused = await ask(other, "available", 60, "r3")
        assert refused["error"] == "agent belongs to another site"


def test_queues_are_republished_within_the_contracts_30_s() -> None:
    settings = SimulatorSettings()
    assert settings.heartbeat_s <= 30
    assert timedelta(seconds=settings.warm_up_s) >= timedelta(hours=1)
