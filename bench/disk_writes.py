"""Bytes the history writes to disk per hour of a busy evening, against writing naively.

    python -m bench.disk_writes [--hours 1] [--calls-per-hour 150]

Plays simulated hours through the real fold, recorder and SQLite store on a fake clock
and reads the process's own write_bytes from /proc/self/io. The baseline is the same
traffic written the naive way: one committed row per queue change, as it happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.clock import FakeClock
from appliance.core.config import HistoryConfig
from appliance.core.contract import QueueUpdate, Topics, decode, encode
from appliance.core.health import Outputs
from appliance.drivers.store import AsyncStore, Store
from appliance.features.recorder import HistoryRecorder
from appliance.phone.simulator.model import QUEUES, CallCenter
from appliance.runtime.latest import Latest

START = datetime(2026, 11, 29, 17, 30, tzinfo=UTC)  # a Sunday evening


def written_bytes() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def evening(hours: float, calls_per_hour: float):  # type: ignore[no-untyped-def]
    """Yields (seconds, [(topic, payload)]) for each simulated second."""
    center = CallCenter(random.Random(1), START, calls_per_hour=calls_per_hour, on_duty_target=8)
    center.warm_up(600)
    topics, names = Topics(), {queue: name for queue, name, _ in QUEUES}
    for second in range(int(hours * 3600)):
        queues, agents = center.step(1.0)
        messages = [(topics.agent(a), encode(center.agent_state(a))) for a in sorted(agents)]
        messages += [
            (topics.queue(q), encode(center.queue_state(q, names[q]))) for q in sorted(queues)
        ]
        yield second, messages


async def batched(database: Path, hours: float, rate: float) -> tuple[int, int]:
    clock = FakeClock(START)
    boards = Latest(Board(BoardRules(site="favrskov")))
    boards.publish(fold(boards.value, Connection(True), clock.monotonic()))
    store = AsyncStore(database)
    await store.open()
    config = HistoryConfig()
    recorder = HistoryRecorder(boards, store, clock, config, Outputs())
    topics, messages_seen = Topics(), 0
    before = written_bytes()
    for second, messages in evening(hours, rate):
        for topic, payload in messages:
            boards.publish(
                fold(
                    boards.value,
                    decode(topics, topic, payload),  # type: ignore[arg-type]
                    clock.monotonic(),
                )
            )
            messages_seen += 1
        recorder.observe(boards.value)  # the recorder looks once a second at most
        if second % int(config.flush_interval_s) == 0:
            await recorder.flush()
        clock.advance(1.0)
    await recorder.flush()
    await store.close()
    return written_bytes() - before, messages_seen


def naive(database: Path, hours: float, rate: float) -> int:
    store = Store(database)
    topics = Topics()
    before = written_bytes()
    for second, messages in evening(hours, rate):
        for topic, payload in messages:
            event = decode(topics, topic, payload)
            if isinstance(event, QueueUpdate) and event.state is not None:
                store.write_batch(
                    snapshots=[
                        {"ts": str(second), "queue": event.queue, "waiting": event.state.waiting}
                    ]
                )
    store.close()
    return written_bytes() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--calls-per-hour", type=float, default=150.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hotline-bench-", dir=Path.home()) as directory:
        ours, messages = asyncio.run(
            batched(Path(directory) / "a.db", args.hours, args.calls_per_hour)
        )
        baseline = naive(Path(directory) / "b.db", args.hours, args.calls_per_hour)
    per_hour = ours / args.hours
    result = {
        "bench": "disk_writes",
        "simulated_hours": args.hours,
        "calls_per_hour": args.calls_per_hour,
        "messages": messages,
        "bytes_per_hour": round(per_hour),
        "baseline_bytes_per_hour": round(baseline / args.hours),
        "ratio_to_baseline": round(ours / baseline, 4) if baseline else None,
        "target_bytes_per_hour": 5_000_000,
        "within_target": per_hour < 5_000_000,
    }
    print(
        f"history writes: {per_hour / 1e6:.2f} MB/h for {messages} messages "
        f"(naive per-change commits: {baseline / args.hours / 1e6:.2f} MB/h, "
        f"ratio {result['ratio_to_baseline']}); target < 5 MB/h"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
