"""End to end against a real Mosquitto: the board follows a scripted evening."""

from __future__ import annotations

import asyncio
import json

import aiomqtt

from appliance.core.contract import Topics
from appliance.programs.service import Appliance
from tests.conftest import board_until, make_config, running
from tests.support import payloads
from tests.support.mosquitto import Mosquitto


def queue_of(board: dict, name: str = "borger") -> dict:
    return next((q for q in board["queues"] if q["queue"] == name), {})


async def test_scripted_evening(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client
) -> None:
    async def publish(topic: str, payload: bytes) -> None:
        await publisher.publish(topic, payload, qos=1, retain=True)

    await publish(topics.system_status, b"online")
    await publish(topics.queue("borger"), payloads.queue(waiting=0))
    await publish(topics.agent("a1"), payloads.agent("a1", "available", name="Mette"))
    await publish(topics.agent("a2"), payloads.agent("a2", "paused", reason="Frokost"))
    config = make_config(broker.url, topics, stale_after_s=1.5)
    async with running(Appliance(config)) as app:
        board = await board_until(app, lambda b: b["feed"] == "live" and len(b["agents"]) == 2)
        assert queue_of(board)["waiting"] == 0

        # Callers join: the level climbs with the waiting count.
        for waiting, level in [(2, "ok"), (3, "warn"), (6, "critical")]:
            await publish(
                topics.queue("borger"), payloads.queue(waiting=waiting, longest_wait_s=10)
            )
            board = await board_until(app, lambda b, w=waiting: queue_of(b).get("waiting") == w)
            assert queue_of(board)["level"] == level

        # Answers and abandons arrive as today's counts; the appliance derives the ratios.
        counts = payloads.today(
            offered=8,
            answered=5,
            answered_within_sl=4,
            abandoned=2,
            short_abandoned=1,
            wait_answered_s=100,
            talk_s=1000,
        )
        await publish(
            topics.queue("borger"), payloads.queue(waiting=1, longest_wait_s=5, today=counts)
        )
        board = await board_until(app, lambda b: queue_of(b).get("waiting") == 1)
        assert queue_of(board)["today"] == {
            "offered": 8,
            "answered": 5,
            "abandoned": 2,
            "sl_pct": 80.0,
            "abandon_pct": 14.3,
            "asa_s": 20.0,
            "aht_s": 200.0,
            "sl_formula": "answered",
            "sl_threshold_s": 60.0,
            "aht_includes_wrap": False,
        }

        # Agents change state; counts come from agent states when the queue has none.
        await publish(topics.agent("a1"), payloads.agent("a1", "busy", name="Mette"))
        board = await board_until(app, lambda b: b["agents"][0]["state"] == "busy")
        assert queue_of(board)["agents"]["busy"] == 1
        assert queue_of(board)["agents"]["paused"] == 1

        # A queue appears and is removed again.
        await publish(topics.queue("erhverv"), payloads.queue("erhverv", waiting=2))
        await board_until(app, lambda b: queue_of(b, "erhverv"))
        await publish(topics.queue("erhverv"), b"")
        await board_until(app, lambda b: not queue_of(b, "erhverv"))

        # The phone system goes offline: no numbers, no agents; back online: live again.
        await publish(topics.system_status, b"offline")
        board = await board_until(app, lambda b: b["feed"] == "offline")
        assert queue_of(board)["waiting"] is None
        assert board["agents"] == []
        await publish(topics.system_status, b"online")
        await board_until(app, lambda b: b["feed"] == "live")

        # The heartbeat stops: within stale_after_s the board says stale by itself.
        board = await board_until(app, lambda b: b["feed"] == "stale", timeout=5)
        assert queue_of(board)["stale"] is True
        assert queue_of(board)["waiting"] is None
        await publish(topics.queue("borger"), payloads.queue(waiting=2))
        await board_until(app, lambda b: queue_of(b).get("waiting") == 2)


async def test_broker_restart_reconnects_and_resyncs(own_broker: Mosquitto, topics: Topics) -> None:
    async with aiomqtt.Client("127.0.0.1", own_broker.port) as client:
        await client.publish(topics.system_status, b"online", qos=1, retain=True)
        await client.publish(topics.queue("borger"), payloads.queue(waiting=4), qos=1, retain=True)
    async with running(Appliance(make_config(own_broker.url, topics))) as app:
        await board_until(app, lambda b: queue_of(b).get("waiting") == 4)
        own_broker.stop()
        board = await board_until(app, lambda b: b["feed"] == "disconnected")
        assert queue_of(board)["waiting"] is None
        assert app.health().healthy is False
        own_broker.start()
        # Resynced from the retained state, which the broker persisted over its restart.
        await board_until(
            app, lambda b: b["feed"] == "live" and queue_of(b).get("waiting") == 4, timeout=15
        )
        async with aiomqtt.Client("127.0.0.1", own_broker.port) as client:
            await client.publish(
                topics.queue("borger"), payloads.queue(waiting=1), qos=1, retain=True
            )
        await board_until(app, lambda b: queue_of(b).get("waiting") == 1)


async def test_appliance_announces_itself_and_says_goodbye(
    broker: Mosquitto, topics: Topics
) -> None:
    status = topics.appliance_status("favrskov", "test")
    health = topics.appliance_health("favrskov", "test")
    async with aiomqtt.Client("127.0.0.1", broker.port) as watcher:
        await watcher.subscribe([(status, 1), (health, 1)])
        seen: dict[str, bytes] = {}

        async def until(topic: str, payload: bytes | None = None) -> bytes:
            async with asyncio.timeout(10):
                while seen.get(topic) is None or (payload and seen[topic] != payload):
                    message = await anext(aiter(watcher.messages))
                    seen[message.topic.value] = bytes(message.payload)  # type: ignore[arg-type]
            return seen[topic]

        async with running(Appliance(make_config(broker.url, topics))):
            await until(status, b"online")
            report = json.loads(await until(health))
            assert {
                "v",
                "ts",
                "version",
                "uptime_s",
                "mqtt_connected",
                "last_message_age_s",
                "outputs",
                "rejected_messages",
            } <= report.keys()
        await until(status, b"offline")
