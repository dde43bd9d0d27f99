"""The desk screen layouts with reference images, and the command that regenerates them.

    python -m tests.support.oled_cases        # rewrites tests/reference/oled/*.png

Regenerating is deliberate: the normal test run only compares, and fails on a missing
or different picture.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from wallboard.desk.screen import DeskScreen, draw_desk

REFERENCE = Path(__file__).parent.parent / "reference" / "oled"
BASE = DeskScreen(
    live=True,
    open=True,
    next_open=None,
    waiting=3,
    longest_wait_s=142,
    agent_name="Mette Jensen",
    state="paused",
    reason="Frokost",
    in_state_s=300,
    pending=False,
    message=None,
    clock="18.45",
)
CASES = {
    "paused": {},
    "pending": {"state": "available", "pending": True},
    "no-data": {"live": False},
    "closed": {"open": False, "next_open": "2026-11-29T18:30+01:00"},
    "refused": {"message": "Intet svar fra telefonsystemet"},
    "no-agent": {"agent_name": None, "state": None, "waiting": 0},
    "long": {
        "waiting": 124,
        "longest_wait_s": 3725,
        "reason": "Møde med borgerservicechefen",
        "in_state_s": 5000,
        "message": "Sidste ledige i køen – hold knappen inde for at gå på pause",
    },
    "wrap-up": {"state": "wrap_up", "in_state_s": 30, "waiting": 12, "longest_wait_s": 754},
}
# The sizes as the device reports them: a 128×64 turned on its side (rotate = 1) is 64×128.
SIZES = {
    "128x64": ((128, 64), "1"),
    "128x32": ((128, 32), "1"),
    "256x64": ((256, 64), "RGB"),
    "64x128": ((64, 128), "1"),
    "32x128": ((32, 128), "1"),
}


def render(case: str, size: str) -> Image.Image:
    from dataclasses import replace  # noqa: PLC0415

    dimensions, mode = SIZES[size]
    return draw_desk(replace(BASE, **CASES[case]), dimensions, mode)  # type: ignore[arg-type]


def reference_path(case: str, size: str) -> Path:
    return REFERENCE / f"{case}-{size}.png"


def main() -> None:
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        for size in SIZES:
            render(case, size).save(reference_path(case, size))
    print(f"wrote {len(CASES) * len(SIZES)} reference images to {REFERENCE}")


if __name__ == "__main__":
    main()
