"""1,000 malformed and hostile payloads: none is displayed, none is fatal, all are counted."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import aiomqtt

from appliance.core.contract import Topics
from appliance.programs.service import Appliance
from tests.conftest import board_until, make_config, running
from tests.support import payloads
from tests.support.mosquitto import Mosquitto

NASTY_TEXT = ["x" * 1_000_000, "\x00\x01\x1b[2J", "<script>alert(1)</script>", "\ud800"]


def hostile_queue_payloads() -> Iterator[bytes]:
    """Variations on every way a queue payload can be wrong, for queue `borger`."""
    good = json.loads(payloads.queue(waiting=1))
    broken_values: list[tuple[str, object]] = [
        ("waiting", -1),
        ("waiting", "3"),
        ("waiting", 3.5),
        ("waiting", True),
        ("waiting", 10**12),
        ("waiting", None),
        ("waiting", []),
        ("waiting", 1e308),
        ("longest_wait_s", -5),
        ("longest_wait_s", "long"),
        ("longest_wait_s", 10**20),
        ("ts", "yesterday"),
        ("ts", 1764351761),
        ("ts", "2026-11-28T18:45:03"),
        ("queue", "erhverv"),
        ("queue", 5),
        ("queue", "<b>borger</b>"),
        ("v", 2),
        ("v", "1"),
        ("agents", "many"),
        ("agents", {"available": -1}),
        ("today", []),
        ("today", {"date": "not a date"}),
        ("today", {"date": "2026-11-28", "offered": -3}),
        ("callers", [{"id": 1}]),
        ("callers", "everyone"),
        ("callers", [{"id": "c", "since": payloads.iso()}] * 501),
        ("name", 42),
        ("name", {"html": "<img>"}),
    ]
    for number in itertools.count():
        field, value = broken_values[number % len(broken_values)]
        if number % 5 == 0:
            yield json.dumps(good | {field: value}).encode()
        elif number % 5 == 1:
            required = ("v", "queue", "ts", "waiting", "longest_wait_s")[number // 5 % 5]
            yield json.dumps({k: v for k, v in good.items() if k != required}).encode()
        elif number % 5 == 2:
            yield json.dumps(good).encode()[: number % 40]  # truncated JSON
        elif number % 5 == 3:
            raw = json.dumps(good | {"waiting": 1}).encode()
            yield raw.replace(
                b'"waiting": 1',
                [
                    b'"waiting": NaN',
                    b'"waiting": Infinity',
                    b'"waiting": -0x1',
                    b'"waiting": 1e999',
                ][number % 4],
            )
        else:
            yield [
                b"\xff\xfe\x00",
                b"null",
                b"[]",
                b"42",
                b'"online"',
                b"{}",
                json.dumps({"v": 1, "name": NASTY_TEXT[0]}).encode(),
            ][number % 7]


async def test_thousand_hostile_payloads_leave_the_board_running_and_right(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client
) -> None:
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(
        topics.queue("borger"), payloads.queue(waiting=2, name="Borgere"), qos=1, retain=True
    )
    await publisher.publish(
        topics.agent("a1"), payloads.agent("a1", name="Mette"), qos=1, retain=True
    )
    async with running(Appliance(make_config(broker.url, topics))) as app:
        await board_until(app, lambda b: b["queues"] and b["agents"])
        hostile = list(itertools.islice(hostile_queue_payloads(), 900))
        hostile += [
            payloads.agent(
                "a1",
                state=["asleep", "available"][i % 2],
                site=["../etc", "Favrskov", "x" * 40][i % 3],
            )
            for i in range(60)
        ]
        hostile += [
            json.dumps({"v": 1, "text": text, "level": "critical"}).encode()
            for text in NASTY_TEXT * 10
        ]
        targets = (
            [topics.queue("borger")] * 900
            + [topics.agent("a1")] * 60
            + [topics.messages("all")] * 40
        )
        assert len(hostile) == len(targets) == 1000
        for topic, payload in zip(targets, hostile, strict=True):
            await publisher.publish(topic, payload, qos=1)
        # A good message after the storm: once it shows, every hostile one was handled.
        await publisher.publish(
            topics.queue("erhverv"), payloads.queue("erhverv", waiting=7), qos=1
        )
        board = await board_until(app, lambda b: len(b["queues"]) == 2, timeout=15)
        assert sum(app.hub.rejected.values()) == 1000
        assert [q["waiting"] for q in board["queues"]] == [2, 7]
        assert board["queues"][0]["name"] == "Borgere"
        assert [a["name"] for a in board["agents"]] == ["Mette"]
        assert board["ticker"] == []
        assert board["feed"] == "live"
        health = app.health().payload
        assert health["rejected_messages"] == 1000
