"""The history database: migrations, damage, coalescing, batching, retention, export, API."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import aiomqtt
import pytest

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.clock import FakeClock
from appliance.core.config import HistoryConfig
from appliance.core.contract import Topics, decode
from appliance.core.health import Outputs
from appliance.drivers.store import AsyncStore, Store
from appliance.features.recorder import FLUSH_AT_ROWS, HistoryRecorder
from appliance.programs.cli import main
from appliance.programs.service import Appliance
from appliance.runtime.latest import Latest
from tests.conftest import make_config, running, until
from tests.support import payloads
from tests.support.mosquitto import Mosquitto
from tests.support.tasks import beside

NOW = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)  # 19:00 in Copenhagen
P = "hotline/v1"


def test_schema_comes_from_recorded_migrations_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "hotline.db"
    Store(path).close()
    store = Store(path)  # a second open applies nothing twice
    applied = [row["name"] for row in store.db.query("SELECT name FROM _sqlite_migrations")]
    assert applied == ["m001_history", "m002_presses", "m003_municipalities"]
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_a_damaged_database_is_moved_aside_and_recreated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "hotline.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)
    store = Store(path)
    store.record_press({"id": "p1", "ts": "t", "desk": "d", "agent": "a", "state": "paused"})
    assert [p["id"] for p in store.presses()] == ["p1"]
    store.close()
    assert len(list(tmp_path.glob("hotline.db.damaged-*"))) == 1
    assert "moved aside" in caplog.text


def test_retention_prunes_old_rows_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "hotline.db")
    old, new = (NOW - timedelta(days=31)).isoformat(), NOW.isoformat()
    store.write_batch(
        snapshots=[
            {"ts": old, "queue": "q", "waiting": 1},
            {"ts": new, "queue": "q", "waiting": 2},
        ],
        daily=[{"day": "2025-10-01", "queue": "q"}, {"day": "2026-11-27", "queue": "q"}],
    )
    assert store.prune(NOW, daily_days=400, snapshot_days=30) == 2
    assert [row["waiting"] for row in store.db.query("SELECT waiting FROM snapshots")] == [2]
    assert [row["day"] for row in store.daily("2000-01-01", "2100-01-01")] == ["2026-11-27"]
    store.close()


class Feed:
    """Boards made from raw contract messages on a fake clock, as the hub would make them."""

    def __init__(self) -> None:
        self.clock = FakeClock(NOW)
        self.boards = Latest(Board(BoardRules(site="favrskov")))
        self.apply(Connection(True))
        self.message("system/status", b"online")

    def apply(self, event: object) -> None:
        self.boards.publish(fold(self.boards.value, event, self.clock.monotonic()))  # type: ignore[arg-type]

    def message(self, topic: str, payload: bytes) -> None:
        self.apply(decode(Topics(), f"{P}/{topic}", payload))


async def test_recorder_coalesces_snapshots_and_keeps_peaks(tmp_path: Path) -> None:
    feed = Feed()
    store = AsyncStore(tmp_path / "hotline.db")
    await store.open()
    recorder = HistoryRecorder(feed.boards, store, feed.clock, HistoryConfig(), Outputs())
    today = NOW.date().isoformat()
    # 60 changes in 30 seconds: at most one snapshot row per 15 s (plus the first).
    for second in range(60):
        waiting = 5 if second == 20 else second % 3
        feed.message(
            "queues/borger",
            payloads.queue(
                waiting=waiting,
                longest_wait_s=second,
                today=payloads.today(date=today, offered=second),
            ),
        )
        recorder.observe(feed.boards.value)
        feed.clock.advance(0.5)
    feed.message("agents/a1", payloads.agent("a1", "available"))
    feed.message("agents/a1", payloads.agent("a1", "paused", reason="Frokost"))
    recorder.observe(feed.boards.value)
    await recorder.flush()
    snapshots = await store.run(lambda s: list(s.db.query("SELECT * FROM snapshots")))
    assert 2 <= len(snapshots) <= 3
    [daily] = await store.run(lambda s: s.daily(today, today))
    assert (daily["offered"], daily["peak_waiting"]) == (59, 5)
    events = await store.run(lambda s: list(s.db.query("SELECT * FROM agent_events")))
    assert [(e["agent"], e["state"], e["reason"]) for e in events] == [("a1", "paused", "Frokost")]
    feeds = await store.run(lambda s: [r["detail"] for r in s.db.query("SELECT * FROM events")])
    assert feeds == ["live"]
    await store.close()


async def test_a_failing_disk_keeps_rows_in_memory_and_says_so(tmp_path: Path) -> None:
    feed = Feed()
    store = AsyncStore(tmp_path / "hotline.db")
    await store.open()
    outputs = Outputs()
    recorder = HistoryRecorder(feed.boards, store, feed.clock, HistoryConfig(), outputs)
    feed.message("queues/borger", payloads.queue(waiting=3))
    recorder.observe(feed.boards.value)
    await store.run(lambda s: s.db.conn.close())  # the disk is gone
    await recorder.flush()
    assert outputs.states["history"][0] is False
    assert len(recorder.pending.snapshots) == 1
    await store.close()


async def test_a_storm_is_written_in_batches_and_a_failing_disk_not_hammered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feed = Feed()  # its clock stands still: the minute's flush never comes
    store = AsyncStore(tmp_path / "hotline.db")
    await store.open()
    recorder = HistoryRecorder(
        feed.boards, store, feed.clock, HistoryConfig(), Outputs(), observe_pause_s=0.01
    )

    async def written() -> int:
        return await store.run(lambda s: s.db.table("agent_events").count)

    async with beside(recorder.run(), "history"):
        for number in range(2500):  # a reconnect storm's agents
            feed.message(f"agents/s{number}", payloads.agent(f"s{number}"))
            if number % 100 == 0:
                await asyncio.sleep(0)
        # Each look at the board that finds a batch's worth waiting writes it; what is left
        # (less than a batch, wherever the looks fell in the storm) waits for the minute.
        async with asyncio.timeout(30):
            while await written() <= 2500 - FLUSH_AT_ROWS:
                await asyncio.sleep(0.02)  # polling the database another thread writes
        assert len(recorder.pending.agent_events) < 1000
        await store.run(lambda s: s.db.conn.close())  # the disk is gone
        for number in range(2500, 3700):
            feed.message(f"agents/s{number}", payloads.agent(f"s{number}"))
        await until(lambda: "history not written" in caplog.text, what="the failure logged")
        for number in range(3700, 3703):  # three more rounds of the recorder's loop
            feed.message(f"agents/s{number}", payloads.agent(f"s{number}"))
            await until(
                lambda: recorder.pending.agent_events[-1].agent == f"s{number}",  # noqa: B023
                what="the recorder to see it",
            )
        assert caplog.text.count("history not written") == 1  # not retried every round
        assert len(recorder.pending.agent_events) >= 1000  # kept for the next flush


async def test_history_api_export_and_stats_page(
    broker: Mosquitto,
    topics: Topics,
    publisher: aiomqtt.Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    history = f'state_dir = "{tmp_path}"\nsnapshot_interval_s = 0.05\nflush_interval_s = 0.1\n'
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    config = make_config(broker.url, topics, history=history)
    async with (
        running(Appliance(config)) as app,
        aiohttp.ClientSession(f"http://127.0.0.1:{app.web_port}") as http,
    ):

        async def history_until(check: Callable[[dict], bool]) -> dict:
            body: dict = {}
            async with asyncio.timeout(10):
                while not body or not check(body):
                    async with http.get("/api/history") as reply:
                        body = await reply.json()
                    await asyncio.sleep(0.05)  # polling the API until the batch is written
            return body

        counts = payloads.today(offered=10, answered=8, answered_within_sl=6)
        for waiting in (1, 4, 2):
            await publisher.publish(
                topics.queue("borger"),
                payloads.queue(waiting=waiting, today=counts),
                qos=1,
                retain=True,
            )
            body = await history_until(
                lambda b, w=waiting: b["today"].get("borger", [[0, -1]])[-1][1] == w
            )
        assert [point[1] for point in body["today"]["borger"]] == [1, 4, 2]
        [daily] = body["daily"]
        assert (daily["offered"], daily["sl_pct"], daily["peak_waiting"]) == (10, 75.0, 4)
        async with http.get("/api/history?from=2026-13-01") as reply:
            assert reply.status == 400
        async with http.get("/stats") as reply:
            assert "stats.js" in await reply.text()
    database = tmp_path / "hotline.db"
    assert main(["history", "export", "--database", str(database), "--format", "json"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported[0]["queue"] == "borger"
    assert exported[0]["offered"] == 10
    assert main(["history", "export", "--database", str(database)]) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0].startswith("day,queue,offered,answered")
    assert len(csv_lines) == 2
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
