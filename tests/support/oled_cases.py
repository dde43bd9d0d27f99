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
}
SIZES = {"128x64": ((128, 64), "1"), "128x32": ((128, 32), "1"), "256x64": ((256, 64), "RGB")}


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
