"""The LED sign: layout, what changes go on the wire, and the driver end to end on a pty."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import select
import termios
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import msgspec
import pytest
import serial
from PIL import Image

from appliance.core.clock import SystemClock
from appliance.core.config import SignConfig
from appliance.core.contract import Topics
from appliance.core.health import Outputs
from appliance.drivers.serial_sign import SignLine, SignLineError
from appliance.features.sign_output import SignDriver
from appliance.programs.service import Appliance
from appliance.programs.sign_emulator import PtySign, SignEmulator
from appliance.runtime.latest import Latest
from tests.conftest import make_config, running, until
from tests.support import payloads
from tests.support.mosquitto import Mosquitto
from wallboard.sign import alpha
from wallboard.sign.font5x7 import GLYPHS, HEIGHT, WIDTH
from wallboard.sign.layout import SignStyle, frame_changes, sign_frame
from wallboard.sign.memory import Line, Screen, SignMemory
from wallboard.sign.picture import DOT, OFF, ROW_DOTS, sign_png
from wallboard.view import BoardView

STYLE = SignStyle(layout=SignConfig().layout, colours=SignConfig().colours)


def view(**queue: Any) -> BoardView:
    base_queue = {
        "queue": "borger",
        "name": "Borgere",
        "waiting": 3,
        "longest_wait_s": 142,
        "level": "warn",
        "stale": False,
        "agents": {
            "logged_in": 5,
            "available": 2,
            "ringing": 0,
            "busy": 2,
            "wrap_up": 0,
            "paused": 1,
        },
        "today": {
            "offered": 1,
            "answered": 1,
            "abandoned": 0,
            "sl_pct": 100.0,
            "abandon_pct": 0.0,
            "asa_s": 3.0,
            "aht_s": 100.0,
        },
    }
    board = {
        "site": "favrskov",
        "site_name": "",
        "generated_at": "2026-11-28T18:45:05+01:00",
        "feed": queue.pop("feed", "live"),
        "open": queue.pop("open", True),
        "next_open": queue.pop("next_open", None),
        "queues": [base_queue | queue],
        "agents": [],
        "ticker": queue.pop("ticker", []),
    }
    return msgspec.convert(board, BoardView)


def shown(*frames_commands: list[alpha.Command]) -> SignMemory:
    memory = SignMemory()
    reader = alpha.Reader()
    for commands in frames_commands:
        for transmission in reader.transmissions(alpha.encode(alpha.Transmission(tuple(commands)))):
            memory.apply(transmission)
    return memory


def test_live_numbers_in_danish_with_level_colours() -> None:
    frame = sign_frame(view(), STYLE, grown_s=10)
    [screen] = shown(frame_changes(None, frame)).screens()
    assert [line.text for line in screen.lines] == ["VENTER 3  2:32", "LEDIGE 2  SAMTALE 2"]
    assert screen.lines[0].colour == "amber"
    critical = sign_frame(view(level="critical"), STYLE)
    [screen] = shown(frame_changes(None, critical)).screens()
    assert (screen.lines[0].colour, screen.lines[0].flash) == ("red", True)


def test_a_changed_number_is_a_string_update_only() -> None:
    before = sign_frame(view(waiting=3), STYLE)
    after = sign_frame(view(waiting=4), STYLE)
    [update] = frame_changes(before, after)
    assert update == alpha.WriteString("1", b"4")
    wire = alpha.encode(alpha.Transmission((update,)))
    assert len(wire) == 19  # 5 sync, SOH Z00, STX G14 ETX, 4 checksum, EOT
    assert frame_changes(after, after) == []


def test_no_data_and_closed_take_the_priority_file() -> None:
    live = sign_frame(view(), STYLE)
    for board, text in [
        (view(feed="offline"), "INGEN DATA - TELEFONSYSTEM OFFLINE"),
        (view(feed="disconnected"), "INGEN DATA - INGEN FORBINDELSE"),
        (
            view(stale=True, waiting=None, longest_wait_s=None, level=None, agents=None),
            "INGEN DATA",
        ),
        (
            view(open=False, next_open="2026-11-29T18:30+01:00"),
            "LUKKET - ÅBNER soen 18.30",
        ),  # the sign has no Ø
    ]:
        frame = sign_frame(board, STYLE)
        memory = shown(frame_changes(None, live), frame_changes(live, frame))
        [screen] = memory.screens()
        assert screen.label == "0"
        assert screen.text == text
        # Old numbers are not left in the strings either.
        assert all(value == b"-" for value in frame.strings.values()) or board.open is False
    back = shown(
        frame_changes(None, sign_frame(view(feed="offline"), STYLE)),
        frame_changes(sign_frame(view(feed="offline"), STYLE), live),
    )
    assert [s.label for s in back.screens()] == ["A"]


def test_ticker_scrolls_after_the_numbers() -> None:
    frame = sign_frame(view(ticker=[{"text": "Personalemøde kl. 21.30", "level": "info"}]), STYLE)
    screens = shown(frame_changes(None, frame)).screens()
    assert [(s.label, s.mode) for s in screens] == [("A", "hold"), ("B", "rotate")]
    assert screens[1].text == "Personalemoede kl. 21.30"


async def wait_for_screen(emulator: SignEmulator, text: str, timeout: float = 10) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not any(text in screen.text for screen in emulator.shown.value):
                await emulator.shown.wait_newer(emulator.shown.version)
    except TimeoutError:
        shown_text = [s.text for s in emulator.shown.value]
        raise AssertionError(f"sign never showed {text!r}; it shows {shown_text}") from None


async def test_sign_end_to_end_survives_unplug_and_replug(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client, tmp_path: Path
) -> None:
    link = tmp_path / "wallboard"
    emulator = SignEmulator()
    pty = PtySign(emulator, link)
    serving = asyncio.create_task(pty.serve())
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(
        topics.queue("borger"), payloads.queue(waiting=2, longest_wait_s=30), qos=1, retain=True
    )
    config = make_config(broker.url, topics, extra=f'[sign]\nport = "{link}"\n' + _open_hours())
    async with running(Appliance(config)) as app:
        await wait_for_screen(emulator, "VENTER 2")
        await publisher.publish(
            topics.queue("borger"), payloads.queue(waiting=5), qos=1, retain=True
        )
        await wait_for_screen(emulator, "VENTER 5")
        assert app.sign is not None
        assert app.sign.opened == 1

        serving.cancel()
        pty.close()  # unplugged
        await until(lambda: app.outputs.states["sign"][0] is False)
        assert "sign" in " ".join(app.health().reasons)

        replugged = SignEmulator()
        pty = PtySign(replugged, link)
        serving = asyncio.create_task(pty.serve())
        try:
            await wait_for_screen(replugged, "VENTER 5", timeout=15)
        except AssertionError as failure:  # what the displays' model said (a rare failure)
            model = app.views.models.value
            queues = [(q.queue, q.waiting, q.stale) for q in model.queues]
            raise AssertionError(f"{failure}; model: {model.feed}, {queues}") from None
        assert replugged.memory.configured  # memory configured and layout written anew
        assert app.outputs.states["sign"][0] is True
    serving.cancel()
    pty.close()


async def test_a_retry_never_writes_into_the_pty_that_took_the_old_number() -> None:
    """pty numbers are reused at once; the emulator's port is a link that goes with it."""
    emulator = SignEmulator()
    pty = PtySign(emulator)
    serving = asyncio.create_task(pty.serve())
    views = Latest(view(waiting=2))
    outputs = Outputs()
    driver = SignDriver(SignConfig(port=pty.path), views, SystemClock(), outputs)
    driving = asyncio.create_task(driver.run())
    try:
        await wait_for_screen(emulator, "VENTER 2")
        number = pty.device
        serving.cancel()
        pty.close()  # unplugged
        views.publish(view(waiting=3))  # the driver's write fails and it lets go of the pty
        await until(lambda: outputs.states["sign"][0] is False)
        async with _pty_numbered(number) as other:  # someone else's, on the same number
            retries = outputs.failures["sign"]
            await until(lambda: outputs.failures["sign"] >= retries + 2, timeout=15)
            assert driver.opened == 1
            assert select.select([other], [], [], 0)[0] == []  # not a byte for it
    finally:
        pty.close()
        for task in (serving, driving):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def _pty_numbered(device: str) -> AsyncIterator[int]:
    """A new pty's master once the kernel hands out `device` again (it gives the lowest
    free number: the others taken meanwhile are held until then, so they cannot be it)."""
    held: list[int] = []
    try:
        async with asyncio.timeout(10):
            while True:
                master, slave = os.openpty()
                held += [master, slave]
                if os.ttyname(slave) == device:
                    break
                await asyncio.sleep(0.05)  # the driver's closing of the old one, in its thread
        yield master
    finally:
        for fd in held:
            os.close(fd)


async def test_a_port_that_vanishes_while_being_set_up_is_a_sign_line_error() -> None:
    def opener(url: str, **settings: Any) -> serial.SerialBase:
        raise termios.error(22, "Invalid argument")  # pyserial's tcsetattr on a dying pty

    with pytest.raises(SignLineError, match=r"/dev/wallboard: .*Invalid argument"):
        await SignLine.open(SignConfig(port="/dev/wallboard"), opener)


def _open_hours() -> str:
    from tests.conftest import ALWAYS_OPEN  # noqa: PLC0415

    return ALWAYS_OPEN


async def test_the_emulator_also_listens_on_tcp_for_socket_urls(
    broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client
) -> None:
    from appliance.programs.sign_emulator import serve_tcp  # noqa: PLC0415
    from tests.support.mosquitto import free_port  # noqa: PLC0415

    port = free_port()
    emulator = SignEmulator()
    listening = asyncio.create_task(serve_tcp(emulator, "127.0.0.1", port))
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(topics.queue("borger"), payloads.queue(waiting=7), qos=1, retain=True)
    sign = f'[sign]\nport = "socket://127.0.0.1:{port}"\nframing = "8N1"\n'
    try:
        async with running(Appliance(make_config(broker.url, topics, extra=sign + _open_hours()))):
            await wait_for_screen(emulator, "VENTER 7")
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening


def _read_sign(png: bytes, columns: int, rows: int) -> list[str]:
    """The text a picture of the sign shows, read back dot by dot against the 5×7 font."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    shapes = {dots: character for character, dots in GLYPHS.items()}

    def lit(x: int, y: int) -> bool:
        centre = DOT + x * DOT + (DOT - 2) // 2, DOT + y * DOT + (DOT - 2) // 2
        return picture.getpixel(centre) != OFF

    text = []
    for row in range(rows):
        line = ""
        for column in range(columns):
            cell = tuple(
                "".join(
                    "#" if lit(column * 6 + x, row * ROW_DOTS + y) else "." for x in range(WIDTH)
                )
                for y in range(HEIGHT)
            )
            line += shapes.get(cell, "¿")
        text.append(line.rstrip())
    return text


def test_the_sign_picture_is_drawn_in_the_signs_own_dots() -> None:
    """docs/sign.png and the demo's sign: every letter in the 5×7 font, read back."""
    lines = ("3 VENTER 12:34", "SAMTALE 4 · PAUSE 2", "ÆBLE/ØL (Å) 87%")
    screen = Screen(label="A", mode="hold", position="fill", lines=tuple(Line(t) for t in lines))
    assert _read_sign(sign_png(screen, columns=20), 20, 3) == list(lines)
    # Small letters and accents show as the capitals the sign has; nothing is left out.
    lower = Screen(label="A", mode="hold", position="fill", lines=(Line("Mødé?"), Line("~")))
    assert _read_sign(sign_png(lower, columns=8), 8, 2) == ["MØDE?", "?"]
