"""The local history: one SQLite database under the state directory, via sqlite-utils.

Every method here blocks; `AsyncStore` runs them on one worker thread of their own, so
the event loop never waits for the SD card and the connection stays on one thread.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

log = logging.getLogger(__name__)
T = TypeVar("T")
Row = dict[str, Any]

migrations = Migrations("hotline")


@migrations()
def m001_history(db: Database) -> None:
    db.table("snapshots").create(
        {
            "ts": str,
            "queue": str,
            "waiting": int,
            "longest_wait_s": float,
            "available": int,
            "busy": int,
            "paused": int,
        },
    )
    db.table("snapshots").create_index(["queue", "ts"])
    db.table("agent_events").create(
        {"ts": str, "agent": str, "site": str, "state": str, "reason": str}
    )
    db.table("agent_events").create_index(["ts"])
    db.table("events").create({"ts": str, "kind": str, "detail": str})
    db.table("daily").create(
        {
            "day": str,
            "queue": str,
            "offered": int,
            "answered": int,
            "abandoned": int,
            "sl_pct": float,
            "abandon_pct": float,
            "asa_s": float,
            "aht_s": float,
            "peak_waiting": int,
            "longest_wait_s": float,
        },
        pk=("day", "queue"),
    )


@migrations()
def m002_presses(db: Database) -> None:
    db.table("presses").create(
        {
            "id": str,
            "ts": str,
            "desk": str,
            "agent": str,
            "state": str,
            "reason": str,
            "expires": str,
            "outcome": str,
            "outcome_ts": str,
            "error": str,
        },
        pk="id",
    )
    db.table("presses").create_index(["outcome"])


@migrations()
def m003_municipalities(db: Database) -> None:
    """v1.1: the day's raw counts (any service level, any period), and the counts per
    queue and municipality of the callers, and per site of the agents."""
    for column, kind in (
        ("short_abandoned", int),
        ("answered_within_sl", int),
        ("abandoned_within_sl", int),
        ("wait_answered_s", float),
        ("talk_s", float),
        ("wrap_s", float),
    ):
        db.table("daily").add_column(column, kind)
    db.table("daily_municipality").create(
        {
            "day": str,
            "queue": str,
            "municipality": str,
            "offered": int,
            "answered": int,
            "abandoned": int,
            "answered_within_sl": int,
        },
        pk=("day", "queue", "municipality"),
    )
    db.table("daily_site").create(
        {
            "day": str,
            "site": str,
            "agents": int,
            "answered": int,
            "talk_s": float,
            "wrap_s": float,
            "on_duty_s": float,
        },
        pk=("day", "site"),
    )


class Store:
    """The database; opened, checked and migrated on construction."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.db = self._open()

    def _open(self) -> Database:
        if self.path is None:
            return Database(memory=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = self._connect()
        except sqlite3.DatabaseError as error:
            self._move_aside(f"cannot be opened ({error})")
            db = self._connect()
        return db

    def _connect(self) -> Database:
        assert self.path is not None
        db = Database(self.path)
        # An unreadable file fails here, on the first real read.
        verdict = db.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            db.close()
            self._move_aside(f"failed its check: {verdict}")
            db = Database(self.path)
        db.execute("PRAGMA journal_mode=WAL")
        # NORMAL: a power cut may lose the last batch, never the file; presses use FULL.
        db.execute("PRAGMA synchronous=NORMAL")
        # 512 KiB of page cache, not 2 MiB: writes are appends, reads are a day's rows, and
        # the kernel caches the file anyway (RAM is what a Zero 2 W lacks).
        db.execute("PRAGMA cache_size=-512")
        migrations.apply(db)
        return db

    def _move_aside(self, why: str) -> None:
        assert self.path is not None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for suffix in ("", "-wal", "-shm"):
            damaged = Path(f"{self.path}{suffix}")
            if damaged.exists():
                damaged.rename(f"{self.path}.damaged-{stamp}{suffix}")
        log.error("history database %s %s: moved aside, starting a new one", self.path, why)

    def close(self) -> None:
        self.db.close()

    # --- writing ------------------------------------------------------------------------

    def write_batch(
        self,
        *,
        snapshots: Iterable[Row] = (),
        agent_events: Iterable[Row] = (),
        events: Iterable[Row] = (),
        daily: Iterable[Row] = (),
        by_municipality: Iterable[Row] = (),
        by_site: Iterable[Row] = (),
    ) -> None:
        """One transaction for a batch: the SD card sees one write, not one per row."""
        with self.db.conn:
            self.db.table("snapshots").insert_all(snapshots)
            self.db.table("agent_events").insert_all(agent_events)
            self.db.table("events").insert_all(events)
            self.db.table("daily").upsert_all(daily, pk=("day", "queue"))
            self.db.table("daily_municipality").upsert_all(
                by_municipality, pk=("day", "queue", "municipality")
            )
            self.db.table("daily_site").upsert_all(by_site, pk=("day", "site"))

    def record_press(self, press: Row) -> None:
        """A press is durable before this returns: it must survive a power cut."""
        self._durably(lambda: self.db.table("presses").insert(press, pk="id", replace=True))

    def record_outcome(self, press_id: str, outcome: str, error: str | None, ts: str) -> None:
        self._durably(
            lambda: self.db.table("presses").update(
                press_id, {"outcome": outcome, "error": error, "outcome_ts": ts}
            )
        )

    def _durably(self, write: Callable[[], object]) -> None:
        self.db.execute("PRAGMA synchronous=FULL")
        try:
            with self.db.conn:
                write()
        finally:
            self.db.execute("PRAGMA synchronous=NORMAL")

    def prune(self, now: datetime, daily_days: int, snapshot_days: int) -> int:
        """Drop what is older than the retention; returns the number of rows removed."""
        snapshot_cut = (now - timedelta(days=snapshot_days)).isoformat()
        daily_cut = (now - timedelta(days=daily_days)).date().isoformat()
        removed = 0
        with self.db.conn:
            for table in ("snapshots", "agent_events", "events"):
                cursor = self.db.execute(f"DELETE FROM {table} WHERE ts < ?", [snapshot_cut])  # noqa: S608
                removed += cursor.rowcount
            for table in ("daily", "daily_municipality", "daily_site"):
                removed += self.db.execute(
                    f"DELETE FROM {table} WHERE day < ?",  # noqa: S608 - our own table names
                    [daily_cut],
                ).rowcount
            removed += self.db.execute(
                "DELETE FROM presses WHERE ts < ? AND outcome IS NOT NULL", [snapshot_cut]
            ).rowcount
        return removed

    # --- reading ------------------------------------------------------------------------

    def daily(self, first: str, last: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM daily WHERE day BETWEEN ? AND ? ORDER BY day, queue", [first, last]
            )
        )

    def daily_by_municipality(self, first: str, last: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM daily_municipality WHERE day BETWEEN ? AND ?"
                " ORDER BY day, queue, municipality",
                [first, last],
            )
        )

    def daily_by_site(self, first: str, last: str) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                "SELECT * FROM daily_site WHERE day BETWEEN ? AND ? ORDER BY day, site",
                [first, last],
            )
        )

    def curve(self, since: str) -> dict[str, list[tuple[str, int]]]:
        """Waiting callers per queue since `since`, in time order."""
        curves: dict[str, list[tuple[str, int]]] = {}
        for row in self.db.query(
            "SELECT ts, queue, waiting FROM snapshots WHERE ts >= ? ORDER BY ts", [since]
        ):
            curves.setdefault(row["queue"], []).append((row["ts"], row["waiting"]))
        return curves

    def presses(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM presses ORDER BY ts"))

    def unresolved_presses(self) -> list[dict[str, Any]]:
        return list(self.db.query("SELECT * FROM presses WHERE outcome IS NULL ORDER BY ts"))


class AsyncStore:
    """The Store on its own worker thread; every call is awaited off the event loop."""

    def __init__(self, path: Path | None) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._path = path
        self._store: Store | None = None

    async def open(self) -> None:
        """Open the database; once open, a second call (a retry) changes nothing."""
        if self._store is None:
            self._store = await self._run_raw(lambda: Store(self._path))

    async def _run_raw(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def run(self, call: Callable[[Store], T]) -> T:
        store = self._store
        if store is None:
            raise RuntimeError("store not open")
        return await self._run_raw(lambda: call(store))

    async def close(self) -> None:
        if self._store is not None:
            await self._run_raw(self._store.close)
        self._executor.shutdown(wait=True)
