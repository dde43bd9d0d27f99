"""SIGKILL in the middle of a write burst, 20 times: the database survives, no press is lost."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from appliance.drivers.store import Store


def test_sigkill_during_write_bursts_loses_no_recorded_press(tmp_path: Path) -> None:
    database = tmp_path / "hotline.db"
    recorded: list[str] = []
    rng = random.Random(20)
    for run in range(20):
        with subprocess.Popen(
            [sys.executable, "-m", "tests.support.write_burst", str(database), f"r{run}"],
            stdout=subprocess.PIPE,
            text=True,
        ) as writer:
            assert writer.stdout is not None
            wanted = f"r{run}-{rng.randint(1, 40)}"
            for line in writer.stdout:  # each line: a press that record_press made durable
                recorded.append(line.strip())
                if line.strip() == wanted:
                    break
            writer.send_signal(signal.SIGKILL)  # in the middle of the next write
            writer.wait(timeout=10)
        assert writer.returncode == -signal.SIGKILL
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(database)
    stored = {press["id"] for press in store.presses()}
    store.close()
    assert set(recorded) <= stored
    assert not list(tmp_path.glob("*.damaged-*"))
