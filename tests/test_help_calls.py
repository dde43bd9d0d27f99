"""The call for help: a queue critical long enough lights the desks of the standby staff.

End to end with the simulator as the phone system, a real Mosquitto and gpiozero's mock
pins; the pieces (when a queue wants help, which desk is asked) purely, with a fake clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiomqtt
import msgspec
from gpiozero.pins.mock import MockFactory

from appliance.core.board import AgentEntry
from appliance.core.clock import FakeClock
from appliance.core.contract import AgentState, Rota, Shift, Topics, encode
from appliance.core.desk import help_wanted
from appliance.core.hours import COPENHAGEN
from appliance.features.help_calls import HelpCalls
from appliance.phone.simulator.model import SimAgent
from appliance.programs.service import Appliance
from appliance.runtime.latest import Latest
from tests.conftest import ALWAYS_OPEN, make_config, running, until
from tests.support.boards import board
from tests.support.mosquitto import Mosquitto
from tests.support.simulation import simulating
from tests.test_desks import BUTTON, LED, fake_oled, press
from wallboard.view import BoardView
from wallboard.words import help_text

BUZZER = 22


def standby_desk() -> str:
    return (
        ALWAYS_OPEN
        + f"""
[staffing]
help_after_s = 2

[[desks]]
id = "desk-1"
agent = "a2101"
button = "GPIO{BUTTON}"
led = "GPIO{LED}"
buzzer = "GPIO{BUZZER}"
oled = "desk-1"

[[oled]]
name = "desk-1"
"""
    )


def rota_now(agent: str, role: str, hours: float = 1.0) -> Rota:
    now = datetime.now(COPENHAGEN).replace(microsecond=0)
    shift = Shift(
        agent=agent,
        start=now - timedelta(hours=hours),
        end=now + timedelta(hours=hours),
        role=role,  # type: ignore[arg-type]
        name="Mette Jensen",
    )
    return Rota(v=1, date=now.date(), ts=now, shifts=(shift,))


@contextlib.asynccontextmanager
async def overflowing(
    broker: Mosquitto, topics: Topics, pins: MockFactory, publisher: aiomqtt.Client, role: str
) -> AsyncIterator[tuple[Appliance, SimAgent]]:
    """Many callers, one agent on duty: the queue overflows; the desk's agent a2101, on the
    rota in `role`, is paused."""
    rota = rota_now("a2101", role)
    await publisher.publish(topics.rota(rota.date), encode(rota), qos=1, retain=True)
    config = make_config(broker.url, topics, extra=standby_desk())
    async with (
        simulating(broker, topics, seed=3, calls_per_hour=3000, on_duty=1, warm_up_s=0) as sim,
        running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app,
    ):
        agent = sim.center.agents["a2101"]
        assert sim.center.request("a2101", agent.site, "paused", "Pause") is None
        yield app, agent


async def test_an_overflowing_queue_calls_the_standby_desk_and_a_press_answers(
    broker: Mosquitto, topics: Topics, pins: MockFactory, publisher: aiomqtt.Client
) -> None:
    async with overflowing(broker, topics, pins, publisher, "standby") as (app, agent):
        await until(lambda: app.pins["desk-1"].light == "help", timeout=30, what="the call")
        screen = app.desk_displays.screens["desk-1"].value
        lacking = app.desks.status.value["desk-1"].help_wanted
        assert lacking is not None
        assert lacking >= 1
        assert screen.message == help_text(lacking, "da")
        assert screen.message.startswith("Hotlinen mangler ")
        # Blinking, seen from across the room, and three beeps when it began.
        led = pins.pin(LED)
        await until(lambda: led.state, what="the LED lit")
        await until(lambda: not led.state, what="the LED dark again")
        assert any(state.state for state in pins.pin(BUZZER).states), "no beep"
        # One press: the ordinary request to become available.
        press(pins)
        await until(lambda: agent.state != "paused", what="the phone system to apply it")
        await until(
            lambda: app.pins["desk-1"].light in ("green", "amber"), what="the call to clear"
        )
        assert app.desks.status.value["desk-1"].help_wanted is None


async def test_no_desk_is_called_outside_its_shift_or_off_standby(
    broker: Mosquitto, topics: Topics, pins: MockFactory, publisher: aiomqtt.Client
) -> None:
    # The agent is on the rota, but on the phones, not on standby: never called in.
    async with overflowing(broker, topics, pins, publisher, "phone") as (app, _agent):
        await until(lambda: app.help_calls.wanted.value, timeout=30, what="a queue wanting help")
        await until(lambda: app.pins["desk-1"].light == "red", what="the desk's own light")
        assert app.desks.status.value["desk-1"].help_wanted is None


# --- the pieces, purely ----------------------------------------------------------------


def test_a_queue_wants_help_after_being_critical_long_enough() -> None:
    clock = FakeClock()
    calm = msgspec.structs.replace(board(1, 4), queues=[board(1, 4).queues[0]])
    calm = msgspec.structs.replace(
        calm, queues=[msgspec.structs.replace(calm.queues[0], level="ok")]
    )
    critical = msgspec.structs.replace(calm.queues[0], level="critical")
    overflowing = msgspec.structs.replace(calm, queues=[critical])
    views: Latest[BoardView] = Latest(overflowing)
    calls = HelpCalls(views, clock, help_after_s=120)
    assert calls.update() == 120  # critical now: help in two minutes
    clock.advance(119)
    calls.update()
    assert calls.wanted.value == {}
    clock.advance(1)
    assert calls.update() is None
    assert calls.wanted.value == {"q0": 1}  # agents needed 4, serving 7: at least one
    views.publish(calm)  # no longer critical: the call is over
    calls.update()
    assert calls.wanted.value == {}
    views.publish(overflowing)  # critical again: the two minutes start over
    assert calls.update() == 120


START = datetime(2026, 11, 29, 18, 30, tzinfo=COPENHAGEN)


def entry(state: str, queues: tuple[str, ...] = ("q0",)) -> AgentEntry:
    agent = AgentState(
        v=1,
        agent="a1",
        site="favrskov",
        state=state,
        ts=START,
        queues=queues,  # type: ignore[arg-type]
    )
    return AgentEntry(agent, 0.0, 0.0)


def test_which_desk_is_asked() -> None:
    shifts = [Shift(agent="a1", start=START, end=START + timedelta(hours=3), role="standby")]
    wanted = {"q0": 2}
    assert help_wanted(entry("paused"), wanted, shifts, START) == 2
    assert help_wanted(entry("paused"), wanted, shifts, START - timedelta(seconds=1)) is None
    assert help_wanted(entry("paused"), wanted, shifts, START + timedelta(hours=3)) is None
    assert help_wanted(entry("available"), wanted, shifts, START) is None  # already on
    assert help_wanted(entry("paused", ("q9",)), wanted, shifts, START) is None  # not its queue
    assert help_wanted(entry("paused", ()), wanted, shifts, START) == 2  # every queue
    assert help_wanted(entry("paused"), {}, shifts, START) is None
    assert help_wanted(None, wanted, shifts, START) is None
