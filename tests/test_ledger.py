"""The give-and-take ledger, from a simulated day through the board, the recorder and the
database on a real file, into the exports (the xlsx read back with openpyxl)."""

from __future__ import annotations

import contextlib
import random
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from openpyxl import load_workbook

from appliance.core.board import Board, BoardRules, Connection, fold
from appliance.core.clock import FakeClock
from appliance.core.config import HistoryConfig
from appliance.core.contract import Topics, decode, encode
from appliance.core.health import Outputs
from appliance.core.ledger import ledger
from appliance.core.municipalities import site_municipalities
from appliance.core.periods import stats_report
from appliance.drivers.municipalities import shipped_municipalities
from appliance.drivers.store import AsyncStore, Store
from appliance.features.recorder import HistoryRecorder
from appliance.phone.simulator.model import QUEUES, CallCenter
from appliance.programs.cli import main
from appliance.runtime.latest import Latest
from tests.support.boards import board
from tests.support.chromium import CHROMIUM, chromium_page
from tests.support.mosquitto import free_port
from wallboard.view import encode_view
from wallboard.web.app import WebDeps, create_app

DOCS = Path(__file__).parent.parent / "docs"
START = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # 18:00 in Copenhagen: the evening
TOPICS = Topics()


@contextlib.asynccontextmanager
async def stats_server(
    stats: Callable[[date, date, str, str], Awaitable[dict[str, Any]]], today: date
) -> AsyncIterator[str]:
    """The web app with a stats source and nothing else."""
    shown = encode_view(board(1, 1))
    app = create_app(
        WebDeps(
            deltas=Latest(b""),
            snapshot=lambda: b'{"type":"board","n":0,"board":' + shown + b"}",
            render_board=lambda: shown,
            health=lambda: None,  # type: ignore[arg-type,return-value]
            metrics=lambda: "",
            stats=stats,
            today=lambda: today,
        )
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def simulated_day(database: Path, after_days: int = 0) -> tuple[CallCenter, date]:
    """Four hours of the hotline, every state through the board into the history."""
    start = START + timedelta(days=after_days)
    rng = random.Random(7 + after_days)
    center = CallCenter(rng, start, calls_per_hour=rng.choice((110, 140, 170)), on_duty_target=9)
    clock = FakeClock(start)
    boards = Latest(fold(Board(BoardRules(site="favrskov")), Connection(True), 0.0))
    store = AsyncStore(database)
    await store.open()
    recorder = HistoryRecorder(boards, store, clock, HistoryConfig(), Outputs())

    def publish(topic: str, payload: bytes) -> None:
        event = decode(TOPICS, topic, payload)
        boards.publish(fold(boards.value, event, clock.monotonic()))  # type: ignore[arg-type]

    publish(TOPICS.system_status, b"online")
    center.warm_up(0)
    for minute in range(4 * 60):
        for _ in range(60):  # a minute of calls
            center.step(1.0)
        clock.advance(60)
        for queue, name, _ in QUEUES:
            publish(TOPICS.queue(queue), encode(center.queue_state(queue, name)))
        for agent in center.agents:
            publish(TOPICS.agent(agent), encode(center.agent_state(agent)))
        recorder.observe(boards.value)
        if minute % 30 == 29:
            assert await recorder.flush()
    assert await recorder.flush()
    await store.close()
    return center, center.wall.date()


async def test_a_simulated_day_balances(tmp_path: Path) -> None:
    database = tmp_path / "hotline.db"
    center, day = await simulated_day(database)
    store = Store(database)
    span = (day.isoformat(), day.isoformat())
    queues, places, sites = (
        store.daily(*span),
        store.daily_by_municipality(*span),
        store.daily_by_site(*span),
    )
    shipped = shipped_municipalities()
    book = ledger(places, sites, site_municipalities(shipped), {m.code: m.name for m in shipped})
    # The ledger's totals are the queues' totals ...
    for field in ("offered", "answered", "abandoned", "answered_within_sl"):
        assert getattr(book.total, field) == sum(row[field] for row in queues), field
    assert book.total.offered == sum(c.offered for c in center.counts.values()) > 400
    # ... and every call answered was answered by some centre's staff, all of them known.
    assert book.total.staff_answered == book.total.answered
    assert [line for line in book.lines if line.municipality == "000" and line.staff_answered] == []
    assert book.total.staff_hours > 4 * 8  # about nine on duty for four hours
    # Each municipality's parts (one per queue) add up to its line.
    for line in book.lines:
        mine = [row for row in places if row["municipality"] == line.municipality]
        assert line.offered == sum(row["offered"] for row in mine)
        assert line.answered == sum(row["answered"] for row in mine)
    # Each queue's parts (one per municipality) add up to the queue.
    for row in queues:
        parts = [p for p in places if p["queue"] == row["queue"]]
        assert sum(p["offered"] for p in parts) == row["offered"]
        assert sum(p["abandoned"] for p in parts) == row["abandoned"]
    aarhus = next(line for line in book.lines if line.name == "Aarhus")
    others = [line.offered for line in book.lines if line.name != "Aarhus"]
    assert aarhus.offered > max(others)  # the most people
    store.close()


async def test_the_spreadsheet_reads_back(tmp_path: Path) -> None:
    database = tmp_path / "hotline.db"
    _center, day = await simulated_day(database)
    sheet_path = tmp_path / "ledger.xlsx"
    args = ["history", "export", "--database", str(database), "--from", day.isoformat(),
            "--to", day.isoformat()]  # fmt: skip
    assert (
        main([*args, "--by", "municipality", "--format", "xlsx", "--output", str(sheet_path)]) == 0
    )
    workbook = load_workbook(sheet_path, read_only=True)
    assert workbook.sheetnames == ["Per municipality", "Ledger"]
    rows = list(workbook["Per municipality"].iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[:4] == ("day", "municipality", "name", "offered")
    offered = sum(row[header.index("offered")] for row in body)
    ledger_rows = list(workbook["Ledger"].iter_rows(values_only=True))
    assert ledger_rows[1][:3] == ("municipality", "name", "offered")
    total = ledger_rows[-1]
    assert total[1] == "Total"
    assert total[2] == offered  # the period's total is the days' sum
    assert sum(row[2] for row in ledger_rows[2:-1]) == offered  # and the lines' sum
    csv_path = tmp_path / "sites.csv"
    assert main([*args, "--by", "site", "--output", str(csv_path)]) == 0
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("day,site,municipality,agents,answered")
    assert any(",favrskov,710," in line for line in lines[1:])
    assert main([*args, "--format", "xlsx"]) == 2  # xlsx needs a file


async def test_the_stats_page_draws_the_period(tmp_path: Path) -> None:
    """/stats in Chromium, from a simulated day's history: the charts, the ledger."""
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium is not installed")
    database = tmp_path / "hotline.db"
    for after_days in range(6):  # a week of evenings, one of them off
        if after_days != 3:
            _center, day = await simulated_day(database, after_days)
    store = Store(database)
    shipped = shipped_municipalities()
    names = {m.code: m.name for m in shipped}

    async def stats(first: date, last: date, group: str, by: str) -> dict[str, Any]:
        span = (first.isoformat(), last.isoformat())
        return stats_report(
            daily=store.daily(*span),
            places=store.daily_by_municipality(*span),
            sites=store.daily_by_site(*span),
            span=span,
            group=group,  # type: ignore[arg-type]
            by=by,  # type: ignore[arg-type]
            formula="answered",  # by municipality the one the contract's parts allow
            sl_threshold_s=60.0,
            names=names,
            site_municipality=site_municipalities(shipped),
        )

    async with stats_server(stats, today=day) as url, chromium_page(1280, 1700) as page:
        for by, group in (("municipality", "day"), ("queue", "week"), ("queue", "month")):
            await page.goto(f"{url}stats?by={by}&group={group}")
            await page.wait_for("document.body.dataset.loaded")
            bars = await page.evaluate("document.querySelectorAll('#calls rect').length")
            assert bars >= 3, (by, group, bars)  # a period's stacks: three queues or more
            dots = await page.evaluate("document.querySelectorAll('#sl circle').length")
            assert dots >= 1  # a service level for each period drawn
            rows = await page.evaluate("document.querySelectorAll('#ledger-rows tr').length")
            assert rows >= 5  # the municipalities that called, and the total
            total = await page.evaluate(
                "document.querySelector('#ledger-rows tr.total').textContent"
            )
            assert total.startswith("I alt")
            note = await page.evaluate("document.getElementById('sl-note').textContent")
            assert "af de besvarede opkald" in note
            if by == "municipality":
                await page.screenshot(DOCS / "stats.png")
        assert page.exceptions == []
    store.close()
