"""A process that writes history as fast as it can, for the SIGKILL test.

    python -m tests.support.write_burst DATABASE RUN

Prints each press id once `record_press` has returned (the press is durable by then).
"""

from __future__ import annotations

import sys
from itertools import count
from pathlib import Path

from appliance.drivers.store import Store


def main() -> None:
    database, run = Path(sys.argv[1]), sys.argv[2]
    store = Store(database)
    for number in count():
        store.write_batch(
            snapshots=[
                {"ts": f"{run}-{number}", "queue": f"q{i}", "waiting": i} for i in range(50)
            ],
            daily=[{"day": f"2026-11-{number % 28 + 1:02d}", "queue": "borger", "offered": number}],
        )
        press_id = f"{run}-{number}"
        store.record_press(
            {"id": press_id, "ts": press_id, "desk": "desk-1", "agent": "a1", "state": "paused"}
        )
        print(press_id, flush=True)


if __name__ == "__main__":
    main()
