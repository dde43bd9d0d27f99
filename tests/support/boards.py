"""Boards made to order (1 to 6 queues, any number of agents, long Danish names) and a
wallboard server that shows exactly the board it is given: the page under every screen
size without a broker or a simulator in between.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from appliance.core.contract import AgentCounts, AgentStateName
from appliance.core.health import HealthReport
from appliance.runtime.latest import Latest
from tests.support.mosquitto import free_port
from wallboard.stream import Snapshot, encode, view_delta
from wallboard.view import (
    AgentView,
    BoardView,
    ForecastView,
    MunicipalityWaiting,
    QueueView,
    ShiftView,
    StaffingView,
    TickerView,
    TodayView,
    encode_view,
)
from wallboard.web.app import FANOUT, WebDeps, create_app
from wallboard.web.fanout import BoardFanout

QUEUE_NAMES = (
    "Borgerservice",
    "Erhverv og foreninger",
    "MitID og NemLog-in",
    "Digital Post",
    "Sundhed og omsorg",
    "Børn og skole",
)
# Real shapes of Danish names: double first names, two surnames, a long single one.
AGENT_NAMES = (
    "Anne-Mette Søgaard Kristensen",
    "Mette Jensen",
    "Jens Peter Østergaard Nielsen",
    "Sofie Kjærsgaard",
    "Mads Bøgh Andersen",
    "Lærke Holm",
    "Christoffer Vestergaard",
    "Ida Marie Bech Thomsen",
    "Ole Hansen",
    "Karen-Margrethe Frederiksen",
    "Frederik Munk Rasmussen",
    "Aase Poulsen",
)
FIRST_NAMES = ("Signe", "Rasmus", "Birgitte", "Henrik", "Camilla", "Søren", "Pia", "Niels")
SURNAMES = ("Mortensen", "Lund", "Skovgaard Møller", "Dahl", "Kjeldsen", "Iversen", "Ravn")


def agent_name(index: int) -> str:
    """The named ones first, then everyday names, all different."""
    if index < len(AGENT_NAMES):
        return AGENT_NAMES[index]
    index -= len(AGENT_NAMES)
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    return f"{first} {SURNAMES[(index // len(FIRST_NAMES) + index) % len(SURNAMES)]}"


STATES: tuple[AgentStateName, ...] = ("available", "busy", "wrap_up", "paused", "ringing")
REASONS = ("Frokost", "Møde med borgerservicechefen om aftenens vagtplan", "Kursus")
LONG_TICKER = (
    "Personalemøde kl. 21.30 i kantinen – husk at sætte pause inden · "
    "Digital Post er nede hos leverandøren indtil kl. 20, henvis til borger.dk · "
    "Husk at logge ud af telefonen, når vagten slutter"
)


TODAY = TodayView(
    offered=431,
    answered=402,
    abandoned=29,
    sl_pct=87.3,
    abandon_pct=6.7,
    asa_s=48.0,
    aht_s=312.0,
    sl_formula="offered_excluding_abandoned_within",
    sl_threshold_s=60.0,
)
WAITING_FROM = (
    ("751", "Aarhus", 5),
    ("760", "Ringkøbing-Skjern", 3),
    ("740", "Silkeborg", 2),
    ("756", "Ikast-Brande", 2),
    ("710", "Favrskov", 1),
    ("741", "Samsø", 1),
    ("000", "", 1),
)


ROTA = (
    ("Mette Jensen", "phone", "on"),
    ("Karen-Margrethe Frederiksen", "phone", "missing"),
    ("Jens Peter Østergaard Nielsen", "phone", "missing"),
    ("Lise Holm", "phone", "expected"),
    ("Ole Knudsen", "standby", "standby"),
    ("Birgitte Skovgaard Møller", "standby", "standby"),
)


def board(queues: int, agents: int, ticker: str = LONG_TICKER, feed: str = "live") -> BoardView:
    """A live board: the queues filling up, the agents in every state."""
    queue_views = [
        QueueView(
            queue=f"q{index}",
            name=QUEUE_NAMES[index % len(QUEUE_NAMES)],
            waiting=(3, 12, 0, 7, 24, 1)[index % 6],
            longest_wait_s=(142, 754, 0, 3725, 2999, 61)[index % 6],
            level=("ok", "critical", "ok", "warn", "critical", "ok")[index % 6],  # type: ignore[arg-type]
            stale=False,
            agents=AgentCounts(logged_in=9, available=2, busy=4, wrap_up=1, paused=2),
            today=TODAY,
            staffing=StaffingView(
                needed=(4, 9, 2, 6, 11, None)[index % 6],
                serving=7,
                forecast=ForecastView("2026-12-01T22:00+01:00", 8, "2026-12-01T22:17+01:00")
                if index % 3 == 1
                else None,
            ),
            waiting_by_municipality=[
                MunicipalityWaiting(code, name, n) for code, name, n in WAITING_FROM[: index + 2]
            ],
        )
        for index in range(queues)
    ]
    agent_views = [
        AgentView(
            agent=f"a{index}",
            name=agent_name(index),
            site="aarhus",
            state=STATES[index % len(STATES)],
            reason=REASONS[index % len(REASONS)]
            if STATES[index % len(STATES)] == "paused"
            else None,
            in_state_s=(index * 97) % 4000,
            scheduled=index % 7 != 3,  # a few on duty without a shift
        )
        for index in range(agents)
    ]
    rota = [
        ShiftView(f"r{index}", name, "aarhus", role, "18:30", "22:00", status, status == "on")
        for index, (name, role, status) in enumerate(ROTA)
    ]
    return BoardView(
        site="aarhus",
        site_name="Aarhus",
        generated_at="2026-12-01T19:42:10+01:00",
        feed=feed,
        open=True,
        next_open=None,
        queues=queue_views,
        agents=agent_views,
        ticker=[TickerView(ticker, "info")] if ticker else [],
        rota=rota,
    )


@dataclass
class BoardServer:
    """The wallboard's own web app, fed by `show()` instead of the broker."""

    shown: BoardView
    deltas: Latest[bytes]
    url: str
    number: int = 0
    fanout: BoardFanout | None = None

    def show(self, view: BoardView) -> None:
        self.number += 1
        delta = view_delta(self.shown, view, self.number)
        self.shown = view
        self.deltas.publish(encode(delta))

    def snapshot(self) -> bytes:
        return encode(Snapshot(self.number, self.shown))


def _healthy() -> HealthReport:
    return HealthReport(True, [], {})


@contextlib.asynccontextmanager
async def board_server(
    first: BoardView, layout: Literal["auto", "queues", "agents"] = "auto"
) -> AsyncIterator[BoardServer]:
    server = BoardServer(first, Latest(b""), "")
    app = create_app(
        WebDeps(
            deltas=server.deltas,
            snapshot=server.snapshot,
            render_board=lambda: encode_view(server.shown),
            health=_healthy,
            metrics=lambda: "",
            layout=layout,
            title="Digital hotline",
        )
    )
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    fanout = asyncio.create_task(app[FANOUT].run())
    try:
        server.url = f"http://127.0.0.1:{port}/"
        server.fanout = app[FANOUT]
        yield server
    finally:
        fanout.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await fanout
        await runner.cleanup()
