"""Desk screens: every layout against its reference image, on luma's real drivers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from luma.core.device import dummy
from luma.core.interface.serial import noop
from luma.oled.device import sh1106, ssd1306, ssd1309, ssd1322
from PIL import Image, ImageChops

from appliance.core.clock import FakeClock
from appliance.core.config import DesksConfig, OledConfig
from appliance.core.health import Outputs
from appliance.drivers.oled import DIM, OledDevice
from appliance.features.desk_displays import NO_SCREEN, OledOutput
from appliance.runtime.backoff import Backoff
from appliance.runtime.latest import Latest
from appliance.runtime.supervise import supervise
from tests.conftest import until
from tests.support.oled_cases import BASE, CASES, SIZES, reference_path, render
from tests.support.tasks import beside
from wallboard.desk.fit import ELLIPSIS, SMALLEST_PX
from wallboard.desk.screen import PORTRAIT_SMALLEST_PX, desk_texts, draw_desk, layout_desk


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES)
def test_layout_matches_its_reference_image(case: str, size: str) -> None:
    path = reference_path(case, size)
    assert path.exists(), f"no reference {path.name}: run python -m tests.support.oled_cases"
    drawn = render(case, size)
    reference = Image.open(path)
    assert drawn.size == reference.size
    difference = ImageChops.difference(drawn.convert("RGB"), reference.convert("RGB"))
    assert difference.getbbox() is None, f"{case} at {size} differs from {path.name}"


def _within(inner: tuple[int, int, int, int], outer: tuple[int, int, int, int]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[2] <= outer[2]
        and inner[3] <= outer[3]
    )


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("case", CASES)
def test_no_line_is_clipped(case: str, size: str) -> None:
    """Every line inside the screen (less the burn-in pixel), inside its box, apart from
    the others, legible, and whole or shortened at a word; and the pixels say the same."""
    (width, height), mode = SIZES[size]
    screen = replace(BASE, **CASES[case])  # type: ignore[arg-type]
    placed = layout_desk(desk_texts(screen), (width, height))
    assert placed, "nothing on the screen"
    smallest = PORTRAIT_SMALLEST_PX if height > width else SMALLEST_PX
    texts = desk_texts(screen)
    said = " ".join((*texts.lines(height), texts.middle)).split()
    for line in placed:
        left, top, right, bottom = line.ink
        inside = (0, 0, width - 1, height - 1)
        assert _within((left, top, right, bottom), inside), f"{line.text!r} off the screen"
        box = line.box
        assert _within(line.ink, (box.x, box.y, box.x + box.width, box.y + box.height)), (
            f"{line.text!r} outside its box"
        )
        assert line.size >= smallest, f"{line.text!r} at {line.size} px"
        words = line.text.removesuffix(ELLIPSIS).split()
        assert all(word in said for word in words), f"{line.text!r}: a word cut"
    for index, one in enumerate(placed):
        for other in placed[index + 1 :]:
            assert not _overlap(one.ink, other.ink), f"{one.text!r} overlaps {other.text!r}"
    # The pixels: all lit ones inside the inks, and none lost at the wandered offset.
    still = draw_desk(screen, (width, height), mode).convert("L")
    wandered = draw_desk(screen, (width, height), mode, (1, 1)).convert("L")
    lit = still.getbbox()
    assert lit is not None
    assert _within(lit, (0, 0, width - 1, height - 1)), f"lit up to {lit}"
    assert sum(still.histogram()[1:]) == sum(wandered.histogram()[1:]), "pixels lost at (1, 1)"


class RecordingSerial:
    """A serial interface like luma's `noop`, remembering what the driver sent."""

    def __init__(self) -> None:
        self.sent_commands: list[int] = []
        self.sent_bytes = 0

    def command(self, *cmd: int) -> None:
        self.sent_commands += cmd

    def data(self, data: list[int]) -> None:
        self.sent_bytes += len(data)

    def cleanup(self) -> None:
        pass


@pytest.mark.parametrize(
    ("driver", "size"),
    [
        (ssd1306, "128x64"),
        (ssd1306, "128x32"),
        (sh1106, "128x64"),
        (ssd1309, "128x64"),
        (ssd1322, "256x64"),
    ],
)
def test_real_drivers_take_the_frames(driver: type, size: str) -> None:
    (width, height), _ = SIZES[size]
    serial = RecordingSerial()
    device = driver(serial, width=width, height=height)  # clears the display: a blank frame
    blank = serial.sent_bytes
    assert blank >= width * height * (4 if driver is ssd1322 else 1) // 8
    device.display(render("paused", size).convert(device.mode))
    sent = serial.sent_bytes - blank
    if driver is ssd1322:  # greyscale: only the changed region goes out
        assert 0 < sent <= blank
    else:
        assert sent == blank  # every pixel of the frame, 1 bit each
    device.display(render("paused", size).convert(device.mode))
    assert isinstance(noop(), object)


async def test_a_frame_of_another_size_is_refused_without_luma_s_assert() -> None:
    """luma checks the frame's size with an assert, which -OO (hotline.service) removes."""
    with ThreadPoolExecutor(1) as thread:
        device = OledDevice(dummy(width=128, height=64, mode="1"), thread)
        with pytest.raises(ValueError, match="a 128x32 frame for a 128x64 display"):
            await device.show(Image.new("1", (128, 32)))
        await device.show(Image.new("1", (128, 64)))


class FlakyDevice:
    """A luma-like device that fails like a display whose I2C bus went away, once."""

    mode = "1"
    size = (128, 64)

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.calls: list[str] = []

    def display(self, image: Image.Image) -> None:
        if self.fail:
            raise OSError(121, "Remote I/O error")
        self.calls.append("display")

    def contrast(self, level: int) -> None:
        self.calls.append(f"contrast {level}")

    def hide(self) -> None:
        self.calls.append("hide")

    def show(self) -> None:
        self.calls.append("show")

    def cleanup(self) -> None:
        self.calls.append("cleanup")


async def test_a_failing_oled_is_reported_and_made_anew() -> None:
    made: list[FlakyDevice] = []

    def factory(_config: OledConfig) -> FlakyDevice:
        made.append(FlakyDevice(fail=not made))
        return made[-1]

    outputs, clock = Outputs(), FakeClock()
    model = Latest(replace(NO_SCREEN, live=True, waiting=2, clock="18.45"))
    settings = DesksConfig(oled_dim_after_s=10)
    with ThreadPoolExecutor(1) as thread:
        screen = OledOutput(
            "desk-1",
            OledConfig(name="desk-1"),
            model,
            factory=factory,
            executor=thread,
            clock=clock,
            settings=settings,
        )
        fast = Backoff(first_s=0.05, cap_s=0.1)
        runner = supervise(screen.output, lambda: screen.run(lambda: outputs.ok(screen.output)),
                           outputs, backoff=fast)  # fmt: skip
        async with beside(runner, "oled"):
            await until(lambda: screen.frames == 1, what="a frame on the remade device")
            assert outputs.states["oled desk-1"] == (True, "")
            assert outputs.failures["oled desk-1"] == 1
            assert made[0].calls[-1] == "cleanup"  # the failed one was closed
            clock.advance(11)  # quiet for longer than oled_dim_after_s
            model.publish(replace(model.value, clock="18.46"))  # only the clock: still quiet
            await until(lambda: screen.frames == 2, what="the dimmed frame")
            model.publish(replace(model.value, open=False))  # closed: the display sleeps
            await until(lambda: "hide" in made[1].calls, what="sleep")
    assert len(made) == 2
    assert made[1].calls[:4] == ["contrast 207", "display", f"contrast {DIM}", "display"]
    assert made[1].calls[-1] == "cleanup"  # closed when its task ended
