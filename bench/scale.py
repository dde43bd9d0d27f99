"""`make bench`, national scale and a small Pi's budget: the appliance as a process.

    python -m bench.scale [--json bench/scale.json]

Each figure beside a baseline from the same run, on the same machine:

- The big board (all 98 municipalities: 40 queues, 2,000 agents on duty) beside the
  region's evening board (one queue, twenty agents): publish → WebSocket p50/p99 of one
  agent's change at 10 msg/s, the bytes that change costs on the wire (beside the whole
  board's), and CPU per 1,000 messages of the same flood.
- The appliance under a CPU quota of 10 % of one core, a stand-in for a Pi Zero 2 W
  (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` where v2 has no cpu controller; root):
  publish → WebSocket p50/p99 and 1,000 messages at once (the retained burst of a
  reconnect) until the board is right, beside the same appliance without the quota.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt

from appliance.core.hours import always_open_toml
from bench.probe import queue_payload
from bench.suite import (
    PREFIX,
    Appliance,
    board_clients,
    evening,
    ingest,
    percentile,
    print_table,
    probe,
    row,
)
from tests.support.mosquitto import Mosquitto, free_port

BIG_QUEUES, BIG_AGENTS = 40, 2000
STATES = ("available", "busy", "busy", "wrap_up", "paused")


def config_text(broker: Mosquitto, port: int, state: Path, site: str = "aarhus") -> str:
    """Every queue shown, every agent in one, no sign or desks: the board on one TV."""
    return f"""
[site]
id = "{site}"
name = "{site.capitalize()}"
[mqtt]
url = "{broker.url}"
[web]
listen = "127.0.0.1:{port}"
[history]
state_dir = "{state}"
{always_open_toml()}"""


async def national(broker: Mosquitto) -> None:
    """98 municipalities on one hotline: 40 queues with their counts, 2,000 agents."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    async with aiomqtt.Client("127.0.0.1", broker.port) as setup:
        await setup.publish(f"{PREFIX}/system/status", b"online", qos=1, retain=True)
        for number in range(BIG_QUEUES):
            body = {"v": 1, "queue": f"q{number:02}", "name": f"Kø {number}", "ts": now,
                    "waiting": number % 4, "longest_wait_s": 30 * (number % 4),
                    "agents": {"logged_in": 50, "available": 10, "ringing": 0, "busy": 30,
                               "wrap_up": 5, "paused": 5}}  # fmt: skip
            await setup.publish(f"{PREFIX}/queues/q{number:02}", json.dumps(body), retain=True)
        for number in range(BIG_AGENTS):
            body = {"v": 1, "agent": f"n{number}", "name": f"Medarbejder {number}",
                    "site": f"site{number % 98}", "state": STATES[number % 5], "ts": now,
                    "queues": [f"q{number % BIG_QUEUES:02}", "borger"]}  # fmt: skip
            await setup.publish(f"{PREFIX}/agents/n{number}", json.dumps(body), retain=True)
        await setup.publish(f"{PREFIX}/queues/borger", queue_payload(0), qos=1, retain=True)


async def board_size(port: int, agents: int) -> int:
    """The whole board's bytes once `agents` are on it (the appliance is starting)."""
    async with aiohttp.ClientSession() as http, asyncio.timeout(60):
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/api/board") as reply:
                    body = await reply.read()
                if reply.status == 200 and len(json.loads(body)["agents"]) >= agents:
                    return len(body)
            await asyncio.sleep(0.1)  # polling a starting process


@contextlib.asynccontextmanager
async def appliance_on(board: str, work: Path) -> Any:
    """A fresh broker holding `board` ("evening" or "national"), and the appliance on it."""
    broker = Mosquitto(work / f"broker-{board}", extra_config="max_queued_messages 0\n")
    broker.start()
    port = free_port()
    config = work / f"hotline-{board}.toml"
    config.write_text(config_text(broker, port, work))
    try:
        await (national(broker) if board == "national" else evening(broker))
        app = Appliance(config, port)
        try:
            size = await board_size(port, BIG_AGENTS if board == "national" else 20)
            await asyncio.sleep(2)  # start-up settles
            yield broker, app, size
        finally:
            app.stop()
    finally:
        broker.stop()


async def one_agent_changing(broker: Mosquitto, port: int, messages: int) -> dict[str, float]:
    measured = await probe(broker, port, 1, messages, 10.0, "agent")
    return {
        "p50_ms": percentile(measured["ws_ms"], 0.5),
        "p99_ms": percentile(measured["ws_ms"], 0.99),
        "bytes": percentile(measured["bytes"], 0.5),
        "bytes_max": max(measured["bytes"]),
    }


async def burst_settles(broker: Mosquitto, port: int, size: int) -> float:
    """`size` retained agents at once, then a queue's change: when is the board right?"""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    async with (
        board_clients(port, 1) as [socket],
        aiomqtt.Client("127.0.0.1", broker.port, max_queued_outgoing_messages=0) as publisher,
    ):
        for number in range(size):
            body = {"v": 1, "agent": f"r{number}", "site": "aarhus", "state": "available",
                    "ts": now, "queues": ["borger"]}  # fmt: skip
            await publisher.publish(f"{PREFIX}/agents/r{number}", json.dumps(body), retain=True)
        sent = time.perf_counter()
        await publisher.publish(f"{PREFIX}/queues/borger", queue_payload(4242), qos=1)
        while '"waiting":4242,' not in (await socket.receive(timeout=60)).data:
            pass
        took = time.perf_counter() - sent
        for number in range(size):
            await publisher.publish(f"{PREFIX}/agents/r{number}", b"", retain=True)
        return took


@contextlib.contextmanager
def cpu_quota(pid: int, share: float) -> Iterator[str]:
    """`pid` limited to `share` of one core; yields how (or raises OSError: not root, no
    cpu controller)."""
    period = 100_000
    unified = Path("/sys/fs/cgroup")
    controllers = unified / "cgroup.controllers"
    if controllers.exists() and "cpu" in controllers.read_text().split():
        with contextlib.suppress(OSError):  # the children's cpu controller (often on)
            (unified / "cgroup.subtree_control").write_text("+cpu")
        group = unified / "hotline-bench"
        group.mkdir(exist_ok=True)
        (group / "cpu.max").write_text(f"{int(period * share)} {period}")
        how, root = "cgroup v2 cpu.max", unified
    else:
        root = Path("/sys/fs/cgroup/cpu")
        group = root / "hotline-bench"
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(period))
        (group / "cpu.cfs_quota_us").write_text(str(int(period * share)))
        how = "cgroup v1 cpu.cfs_quota_us"
    (group / "cgroup.procs").write_text(str(pid))
    try:
        yield how
    finally:
        (root / "cgroup.procs").write_text(str(pid))
        group.rmdir()


async def run(out: Path) -> list[list[str]]:
    work = Path(tempfile.mkdtemp(prefix="hotline-scale-"))
    results: dict[str, Any] = {}
    rows: list[list[str]] = []
    for board in ("evening", "national"):
        async with appliance_on(board, work) as (broker, app, size):
            async with aiohttp.ClientSession() as http:
                flow = await ingest(broker, app, http, 20_000)
            changing = await one_agent_changing(broker, app.port, 300)
            results[board] = {"board_bytes": size, "ingest": flow, "agent_change": changing}
    small, big = results["evening"], results["national"]
    ratio = big["ingest"]["cpu_s_per_1000"] / small["ingest"]["cpu_s_per_1000"]
    results["cpu_big_over_small"] = ratio
    rows += [
        row(
            "big board: one agent's change, publish → WebSocket p50 / p99",
            f"{big['agent_change']['p50_ms']:.1f} / {big['agent_change']['p99_ms']:.1f} ms",
            f"{small['agent_change']['p50_ms']:.1f} / {small['agent_change']['p99_ms']:.1f} ms"
            " evening board",
            "p99 ≤ 5 ms",
            big["agent_change"]["p99_ms"] <= 5.0,
        ),
        row(
            "big board: bytes sent for one agent's change (median / most)",
            f"{big['agent_change']['bytes']:,.0f} / {big['agent_change']['bytes_max']:,} B",
            f"{big['board_bytes']:,} B the whole board",
            "≤ 2 KB",
            big["agent_change"]["bytes_max"] <= 2048,
        ),
        row(
            "big board: CPU per 1,000 messages",
            f"{big['ingest']['cpu_s_per_1000']:.3f} s ({ratio:.2f}×)",
            f"{small['ingest']['cpu_s_per_1000']:.3f} s evening board",
            "≤ 1.5× the evening's",
            ratio <= 1.5,
        ),
    ]
    async with appliance_on("evening", work) as (broker, app, _size):
        free = await probe(broker, app.port, 1, 300, 10.0)
        free_burst = await burst_settles(broker, app.port, 1000)
        try:
            with cpu_quota(app.pid, 0.10) as how:
                await asyncio.sleep(1)
                limited = await probe(broker, app.port, 1, 300, 10.0)
                limited_burst = await burst_settles(broker, app.port, 1000)
        except OSError as error:
            rows.append(row("10 % CPU quota", f"not measured: {error}", "", "", None))
        else:
            lat = {
                name: (percentile(m["ws_ms"], 0.5), percentile(m["ws_ms"], 0.99))
                for name, m in (("free", free), ("limited", limited))
            }
            results["quota"] = {
                "how": how,
                "ws_ms": lat,
                "burst_s": {"free": free_burst, "limited": limited_burst},
            }
            rows += [
                row(
                    f"10 % of a core ({how}; a Pi Zero 2 W stand-in): publish → WebSocket",
                    f"{lat['limited'][0]:.1f} / {lat['limited'][1]:.1f} ms",
                    f"{lat['free'][0]:.1f} / {lat['free'][1]:.1f} ms without the quota",
                    "p99 ≤ 10 ms",
                    lat["limited"][1] <= 10.0,
                ),
                row(
                    "10 % of a core: 1,000 messages at once (a reconnect) until right",
                    f"{limited_burst:.2f} s",
                    f"{free_burst:.2f} s without the quota",
                    "≤ 1 s",
                    limited_burst <= 1.0,
                ),
            ]
    out.write_text(json.dumps(results, indent=1))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, default=Path("bench/scale.json"))
    args = parser.parse_args()
    print_table(asyncio.run(run(args.json)), args.json)


if __name__ == "__main__":
    main()
