"""The bridge against a real Asterisk 22: real calls through Local channels, and everything
it publishes checked against Asterisk's own `QueueStatus`.

`make pbx-test` (root: chroot). The Asterisk root is debootstrapped once and cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from appliance.core.contract import Topics
from appliance.phone.bridge.ami import AmiConnection, Message
from appliance.phone.bridge.config import BridgeConfig
from tests.support.asterisk import Asterisk
from tests.support.mosquitto import Mosquitto
from tests.test_bridge import bridge_config, bridging, watching

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="Asterisk runs in a chroot: needs root"),
    pytest.mark.timeout(300),
]


@pytest.fixture
def pbx() -> Any:
    asterisk = Asterisk("bridge", ring_s=1.0, talk_s=3.0)
    asterisk.start()
    yield asterisk
    asterisk.remove()


# Asterisk's device states (QueueStatus `Status`) as contract agent states.
MEMBER_STATES = {"1": "available", "2": "busy", "3": "busy", "6": "ringing", "7": "ringing"}


def state(seen: Any, agent: str) -> str | None:
    """The agent's state as last published (None: not yet)."""
    return (seen.agent(agent) or {}).get("state")  # type: ignore[no-any-return]


def config(
    broker: Mosquitto, topics: Topics, pbx: Asterisk, tmp_path: Path, ami: str = ""
) -> BridgeConfig:
    """The tests' bridge.toml, for the real Asterisk's queues and Local-channel members."""
    return bridge_config(
        broker,
        topics,
        pbx,
        tmp_path,
        ami=ami,
        members=("Local/2101@agents/n", "Local/2102@agents/n"),
        queues=("borger", "erhverv"),
    )


@contextlib.asynccontextmanager
async def manager(pbx: Asterisk) -> AsyncIterator[AmiConnection]:
    """A second AMI session, the test's own: it places calls and asks Asterisk the truth."""
    connection = await AmiConnection.open("127.0.0.1", pbx.ami_port, lambda _event: None)
    reader = asyncio.create_task(connection.run())
    try:
        await connection.login("tester", "t3ster")
        yield connection
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
        await connection.close()


async def call(ami: AmiConnection, dialled: str) -> None:
    """A caller dials `dialled` and waits in the queue (holding for up to ten minutes)."""
    (answer,) = await ami.action(
        "Originate",
        {"Channel": f"Local/{dialled}@callers", "Application": "Wait", "Data": "600",
         "CallerID": f"Borger <{dialled}>", "Async": "true"},
    )  # fmt: skip
    assert answer["Response"] == "Success", answer


async def truth(ami: AmiConnection, queue: str) -> dict[str, Any]:
    """What Asterisk itself says of a queue: callers, members' status, completed, abandoned."""
    events = await ami.action("QueueStatus", {"Queue": queue})
    params = next(e for e in events if e.get("Event") == "QueueParams")
    members = {e["Name"]: e for e in events if e.get("Event") == "QueueMember"}
    return {
        "waiting": int(params["Calls"]),
        "completed": int(params["Completed"]),
        "abandoned": int(params["Abandoned"]),
        "members": members,
    }


async def eventually(check: Callable[[], Any], what: str, timeout: float = 20.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await check():
                await asyncio.sleep(0.1)  # polling two real systems under a deadline
    except TimeoutError:
        raise AssertionError(f"never came true: {what}") from None


async def test_real_calls_become_the_contract_as_asterisk_itself_counts_them(
    broker: Mosquitto, topics: Topics, pbx: Asterisk, tmp_path: Path
) -> None:
    async with (
        watching(broker, topics) as seen,
        bridging(config(broker, topics, pbx, tmp_path)),
        manager(pbx) as ami,
    ):
        await seen.until(lambda: seen.feed == "online", "the feed online", timeout=20)
        await seen.until(lambda: state(seen, "a2101") == "available", "Mette free")
        # Lars pauses (from outside the hotline, as a supervisor might in Asterisk).
        pause = {"Interface": "Local/2102@agents/n", "Paused": "true", "Reason": "Frokost"}
        await ami.action("QueuePause", pause)
        await seen.until(lambda: state(seen, "a2102") == "paused", "Lars paused")
        assert (seen.agent("a2102") or {})["reason"] == "Frokost"
        await call(ami, "89401710")  # Favrskov's number: Mette's phone rings, she answers
        await seen.until(lambda: state(seen, "a2101") == "ringing", "ringing")
        await seen.until(lambda: state(seen, "a2101") == "busy", "on the call")
        await seen.until(lambda: state(seen, "a2101") == "available", "free again")

        async def matches(queue: str = "borger") -> bool:
            asterisk, published = await truth(ami, queue), seen.queue(queue) or {}
            today = published.get("today", {})
            members = {  # Asterisk's member, as the contract would name its state
                name: "paused" if m["Paused"] == "1" else MEMBER_STATES.get(m["Status"])
                for name, m in asterisk["members"].items()
            }
            agents = {"Mette": state(seen, "a2101"), "Lars": state(seen, "a2102")}
            return (
                published.get("waiting") == asterisk["waiting"]
                and today.get("answered") == asterisk["completed"]
                and today.get("abandoned") == asterisk["abandoned"]
                and members == agents
            )

        await eventually(matches, "borger as Asterisk counts it")
        assert (await truth(ami, "borger"))["completed"] == 1
        assert seen.queue("borger")["today"]["offered"] == 1  # type: ignore[index]

        # Mette pauses too: the next caller waits, gives up, and is counted as abandoned.
        await ami.action("QueuePause", {"Interface": "Local/2101@agents/n", "Paused": "true"})
        await seen.until(lambda: state(seen, "a2101") == "paused", "Mette paused")
        await call(ami, "89401751")
        await seen.until(lambda: (seen.queue("borger") or {}).get("waiting") == 1, "waiting")
        assert (await truth(ami, "borger"))["waiting"] == 1
        channels = await ami.action("CoreShowChannels")
        caller = next(c["Channel"] for c in channels if c.get("Channel", "").endswith(";1"))
        await asyncio.sleep(6)  # a caller who waited longer than short_abandon_s (5 s)
        await ami.action("Hangup", {"Channel": caller})
        await seen.until(lambda: (seen.queue("borger") or {}).get("waiting") == 0, "gave up")
        await eventually(matches, "the abandon as Asterisk counts it")
        today = seen.queue("borger")["today"]  # type: ignore[index]
        assert (today["offered"], today["answered"], today["abandoned"]) == (2, 1, 1)


async def test_a_frozen_asterisk_takes_the_feed_offline_within_its_ping(
    broker: Mosquitto, topics: Topics, pbx: Asterisk, tmp_path: Path
) -> None:
    ami = "ping_interval_s = 1\nping_timeout_s = 1"
    async with (
        watching(broker, topics) as seen,
        bridging(config(broker, topics, pbx, tmp_path, ami)),
    ):
        await seen.until(lambda: seen.feed == "online", "the feed online", timeout=20)
        pbx.freeze()  # SIGSTOP: the TCP connection stays open, nothing answers
        try:
            await seen.until(lambda: seen.feed == "offline", "offline within the ping", timeout=5)
        finally:
            pbx.thaw()
        await seen.until(lambda: seen.feed == "online", "back online", timeout=20)


async def test_a_call_between_the_ami_login_and_the_retained_counts_loses_nothing(
    own_broker: Mosquitto, topics: Topics, pbx: Asterisk, tmp_path: Path
) -> None:
    settings = config(own_broker, topics, pbx, tmp_path)
    answered = lambda n: lambda: (seen.queue("borger") or {}).get("today", {}).get("answered") == n  # noqa: E731
    async with manager(pbx) as ami:
        async with watching(own_broker, topics) as seen, bridging(settings):
            await seen.until(lambda: seen.feed == "online", "online", timeout=20)
            await call(ami, "89401710")
            await seen.until(answered(1), "the first call answered", timeout=20)
        own_broker.stop()  # the restarted bridge finds Asterisk first, the broker later
        async with bridging(settings) as again:
            await eventually(lambda: _true(again.ami_error == ""), "AMI followed")
            await call(ami, "89401751")  # counted before any retained state can arrive
            await eventually(lambda: _true(again.pbx.today["borger"].answered == 1), "counted")
            own_broker.start()
            async with watching(own_broker, topics) as seen:
                await seen.until(answered(2), "both calls, neither lost nor doubled", timeout=20)
                assert seen.queue("borger")["today"]["offered"] == 2  # type: ignore[index]

            async def both_completed() -> bool:  # Asterisk counts a call when it ends
                return bool((await truth(ami, "borger"))["completed"] == 2)

            await eventually(both_completed, "Asterisk to count both calls completed")


async def _true(value: bool) -> bool:
    return value


def _shapes(*_: Message) -> None:
    """Message is the AMI's field dictionary, as the bridge reads it."""
