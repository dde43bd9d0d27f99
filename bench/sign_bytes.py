"""Bytes on the serial line for a typical sign update, against rewriting the whole layout.

    python -m bench.sign_bytes

A typical update is one number changing (a caller joins). The baseline is what a naive
driver sends for the same change: the whole layout with the numbers in it, every time.
"""

from __future__ import annotations

import json

import msgspec

from appliance.core.config import SignConfig
from wallboard.sign import alpha
from wallboard.sign.layout import SignStyle, frame_changes, sign_frame
from wallboard.view import BoardView

BOARD = {
    "site": "favrskov",
    "site_name": "",
    "generated_at": "2026-11-28T18:45:05+01:00",
    "feed": "live",
    "open": True,
    "next_open": None,
    "agents": [],
    "ticker": [],
    "queues": [
        {
            "queue": "borger",
            "name": "Borgere",
            "waiting": 2,
            "longest_wait_s": 81,
            "level": "ok",
            "stale": False,
            "agents": {
                "logged_in": 6,
                "available": 1,
                "ringing": 0,
                "busy": 4,
                "wrap_up": 0,
                "paused": 1,
            },
            "today": {
                "offered": 90,
                "answered": 84,
                "abandoned": 4,
                "sl_pct": 86.0,
                "abandon_pct": 3.3,
                "asa_s": 31.0,
                "aht_s": 240.0,
            },
        }
    ],
}


def main() -> None:
    config = SignConfig()
    style = SignStyle(layout=config.layout, colours=config.colours)
    before = msgspec.convert(BOARD, BoardView)
    after_board = json.loads(json.dumps(BOARD))
    after_board["queues"][0]["waiting"] = 3  # a caller joins; the level stays as it was
    after = msgspec.convert(after_board, BoardView)
    shown, frame = sign_frame(before, style), sign_frame(after, style)
    update = alpha.encode(alpha.Transmission(tuple(frame_changes(shown, frame))))
    full = alpha.encode(alpha.Transmission(tuple(frame_changes(None, frame))))
    # The naive way: the layout with the numbers written into it, as one TEXT file.
    naive_text = alpha.NEW_LINE.join(
        alpha.sign_text(
            line.replace("{waiting}", "3")
            .replace("{longest}", "1:21")
            .replace("{available}", "1")
            .replace("{busy}", "4")
        )
        for line in config.layout
    )
    naive = alpha.encode(
        alpha.Transmission((alpha.WriteText("A", alpha.coloured("green") + naive_text),))
    )
    result = {
        "bench": "sign_bytes",
        "typical_update_bytes": len(update),
        "baseline_whole_layout_bytes": len(naive),
        "first_write_bytes": len(full),
        "ratio_to_baseline": round(len(update) / len(naive), 3),
    }
    print(
        f"sign: one number changing costs {len(update)} bytes on the wire "
        f"(rewriting the layout: {len(naive)} bytes, ratio {result['ratio_to_baseline']}; "
        f"the first full write after (re)connecting: {len(full)} bytes)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
