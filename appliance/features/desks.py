"""The desks at work: presses become requests, requests become outcomes, all recorded.

A press is written to the store before anything else. Then it is sent if the broker is
reachable, or kept and sent after reconnecting while it has not expired. It ends
confirmed (the phone system shows the asked-for state), refused (an error result), or
expired — and that outcome is recorded too. After a crash, presses without an outcome
are picked up from the store again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NoReturn

from appliance.core.board import AgentEntry, BoardEvent, Connection
from appliance.core.clock import Clock
from appliance.core.config import Config, DeskConfig
from appliance.core.contract import (
    VERSION,
    AgentUpdate,
    SetRequest,
    SetResultUpdate,
    Shift,
    Topics,
    encode,
)
from appliance.core.desk import (
    DeskMessage,
    Failure,
    Light,
    Pending,
    Refusal,
    Request,
    decide_press,
    desk_agent,
    desk_light,
    help_wanted,
    settles,
)
from appliance.core.errors import NotConnectedError, PublishRefusedError
from appliance.core.hours import hours_state
from appliance.core.rota import current_shifts
from appliance.drivers.store import AsyncStore, Store
from appliance.features.hub import BoardHub
from appliance.runtime.latest import Latest
from wallboard.words import press_text

log = logging.getLogger(__name__)
ERROR_PATTERN_S = 6.0  # how long the LED flashes its error pattern


@dataclass(frozen=True, slots=True)
class DeskStatus:
    """Everything a desk's LED and screen show."""

    desk: DeskConfig
    agent: AgentEntry | None
    pending: Pending | None
    message: DeskMessage | None
    light: Light
    help_wanted: int | None = None  # the hotline lacks this many: this desk is asked to help


@dataclass(slots=True)
class _Desk:
    config: DeskConfig
    pending: Pending | None = None
    failure: Failure | None = None
    message: DeskMessage | None = None
    message_until: float = 0.0
    error_results: dict[str, str] = field(default_factory=dict)


class Desks:
    def __init__(
        self,
        config: Config,
        hub: BoardHub,
        publish: Callable[..., object],
        store: AsyncStore | None,
        clock: Clock,
        *,
        help_calls: Latest[dict[str, int]] | None = None,
    ) -> None:
        self._config = config
        self._settings = config.desk_settings
        self._hub = hub
        self._publish = publish
        self._store = store
        self._clock = clock
        self._help = help_calls  # queue → agents lacking, for queues critical long enough
        self._topics = Topics(config.mqtt.prefix)
        self._site = config.site.id
        self._desks = {desk.id: _Desk(desk) for desk in config.desks}
        self._fixed_agents = {desk.agent for desk in config.desks if desk.agent}
        self._extensions = {desk.extension for desk in config.desks if desk.extension}
        self._presses: asyncio.Queue[tuple[str, float]] = asyncio.Queue()
        self._poke = asyncio.Event()
        self._unwritten: collections.deque[Callable[[Store], None]] = collections.deque(
            maxlen=10_000
        )
        self._writing = asyncio.Lock()  # one writer, so each kept write is done once, in order
        self.history_error = ""  # why the last history write failed; "" when all written
        self._resumed = False
        self.status: Latest[dict[str, DeskStatus]] = Latest(self._statuses())
        hub.add_listener(self._on_event)

    # --- input -------------------------------------------------------------------------

    def press_from_thread(self, loop: asyncio.AbstractEventLoop, desk: str, held_s: float) -> None:
        """For gpiozero's callback threads: hand the press to the event loop."""
        loop.call_soon_threadsafe(self._presses.put_nowait, (desk, held_s))

    def _on_event(self, event: BoardEvent) -> None:
        """Wake the watcher for what concerns a desk; a busy feed mostly does not."""
        if isinstance(event, Connection):
            self._poke.set()
        elif isinstance(event, SetResultUpdate):
            for desk in self._desks.values():
                pending = desk.pending
                if pending and pending.press_id == event.result.request_id:
                    if event.result.status == "error":
                        desk.error_results[pending.press_id] = event.result.error or "error"
                    self._poke.set()
        elif isinstance(event, AgentUpdate) and self._concerns_a_desk(event):
            self._poke.set()

    def _concerns_a_desk(self, event: AgentUpdate) -> bool:
        shown = self.status.value
        extension = event.state.extension if event.state else None
        return (
            event.agent in self._fixed_agents
            or (extension is not None and extension in self._extensions)
            or any(
                s.agent is not None and s.agent.state.agent == event.agent for s in shown.values()
            )
            or any(
                d.pending is not None and d.pending.request.agent == event.agent
                for d in self._desks.values()
            )
        )

    async def press(self, desk_id: str, held_s: float) -> Request | Refusal:
        """A press at a desk: decide, record, send. Returns what was asked or refused."""
        desk = self._desks[desk_id]
        board = self._hub.board.value
        now_wall = self._clock.now()
        decision = decide_press(
            desk.config,
            board,
            held_s,
            self._settings,
            is_open=hours_state(board.rules.schedule, now_wall).open,
        )
        if isinstance(decision, Refusal):
            self._fail(desk, decision.message)
            self._refresh()
            self._poke.set()
            return decision
        press_id = str(uuid.uuid4())
        expires = now_wall + timedelta(seconds=self._settings.request_expiry_s)
        pending = Pending(press_id, decision, expires)
        await self._record_press(desk_id, pending, now_wall)  # durable before anything else
        if desk.pending is not None:  # a press before the last one was answered wins
            await self._settle(desk, "superseded", None)
        desk.pending, desk.failure, desk.message = pending, None, None
        await self._send(desk)
        self._refresh()
        self._poke.set()  # the watcher's next deadline is now this request's expiry
        return decision

    # --- the request's life ------------------------------------------------------------

    async def _record_press(self, desk_id: str, pending: Pending, now: datetime) -> None:
        if self._store is None:
            return
        request = pending.request
        row = {
            "id": pending.press_id,
            "ts": now.astimezone(UTC).isoformat(),
            "desk": desk_id,
            "agent": request.agent,
            "state": request.state,
            "reason": request.reason,
            "expires": pending.expires.astimezone(UTC).isoformat(),
            "outcome": None,
        }
        await self._stored(lambda store: store.record_press(row))

    async def _record_outcome(self, press_id: str, outcome: str, error: str | None) -> None:
        if self._store is None:
            return
        stamp = self._clock.now().astimezone(UTC).isoformat()
        await self._stored(lambda store: store.record_outcome(press_id, outcome, error, stamp))

    async def _stored(self, call: Callable[[Store], None]) -> None:
        """A write; on a dead or read-only disk it is kept and retried, in order."""
        if self._store is None:
            return
        self._unwritten.append(call)
        await self._write_unwritten()

    async def _write_unwritten(self) -> None:
        async with self._writing:
            while self._unwritten and self._store is not None:
                try:
                    await self._store.run(self._unwritten[0])
                except Exception as error:  # noqa: BLE001 - the press still goes out
                    if self.history_error != str(error):
                        log.error("desk history not written (kept, retried): %s", error)
                    self.history_error = str(error)
                    return
                self._unwritten.popleft()
            self.history_error = ""

    async def _send(self, desk: _Desk) -> None:
        pending = desk.pending
        if pending is None or pending.sent:
            return
        request = pending.request
        payload = SetRequest(
            v=VERSION,
            request_id=pending.press_id,
            agent=request.agent,
            site=self._site,
            state=request.state,
            ts=self._clock.now(),
            expires=pending.expires,
            desk=desk.config.id,
            reason=request.reason,
        )
        remaining = (pending.expires - self._clock.now()).total_seconds()
        try:
            await self._publish(  # type: ignore[misc]
                self._topics.set_request(self._site, request.agent),
                encode(payload),
                qos=1,
                expiry_s=max(1, int(remaining)),
            )
        except NotConnectedError:
            log.info("desk %s: broker unreachable, press kept until it expires", desk.config.id)
            return
        except PublishRefusedError as refused:  # e.g. the ACL: mqtt.username is not site.id
            log.error("desk %s: %s", desk.config.id, refused)
            await self._settle(desk, "refused", DeskMessage("refused_by_broker", refused.reason))
            return
        desk.pending = Pending(pending.press_id, request, pending.expires, sent=True)

    def _fail(self, desk: _Desk, message: DeskMessage) -> None:
        now = self._clock.monotonic()
        desk.failure = Failure(message, now + ERROR_PATTERN_S)
        desk.message, desk.message_until = message, now + ERROR_PATTERN_S * 5

    async def _settle(self, desk: _Desk, outcome: str, message: DeskMessage | None) -> None:
        pending = desk.pending
        if pending is None:
            return
        desk.pending = None
        desk.error_results.pop(pending.press_id, None)
        # In the history and the log as the desk said it, in the site's language.
        error = None if message is None else press_text(message, self._config.web.language)
        if message is not None:
            self._fail(desk, message)
        log.info(
            "desk %s: %s %s: %s",
            desk.config.id,
            pending.request.state,
            pending.request.agent,
            outcome if not error else f"{outcome} ({error})",
        )
        await self._record_outcome(pending.press_id, outcome, error)

    async def _review(self) -> None:
        """Settle what can be settled, send what can be sent."""
        board = self._hub.board.value
        now = self._clock.now()
        for desk in self._desks.values():
            pending = desk.pending
            if pending is None:
                continue
            error = desk.error_results.get(pending.press_id)
            if error is not None:
                await self._settle(desk, "refused", DeskMessage("refused", error))
            elif settles(pending, board.agents.get(pending.request.agent)):
                await self._settle(desk, "confirmed", None)
            elif now >= pending.expires:
                message = DeskMessage("expired" if pending.sent else "not_sent")
                await self._settle(desk, "expired", message)
            elif board.connected:
                await self._send(desk)

    async def resume(self) -> None:
        """After a restart: presses recorded without an outcome are taken up again.

        Once per process: a retry of the desks' task must not take this run's own
        pending presses for leftovers of a crash."""
        if self._store is None or self._resumed:
            return
        self._resumed = True
        try:
            unresolved = await self._store.run(lambda store: store.unresolved_presses())
        except Exception as error:  # noqa: BLE001 - a dead disk must not stop the desks
            log.error("desk history not read: %s", error)
            unresolved = []
        for row in unresolved:
            desk = self._desks.get(row["desk"])
            expires = datetime.fromisoformat(row["expires"])
            if desk is None or desk.pending is not None or expires <= self._clock.now():
                await self._record_outcome(row["id"], "expired", "not sent before a restart")
                continue
            request = Request(row["agent"], row["state"], row["reason"])
            desk.pending = Pending(row["id"], request, expires, sent=False)

    # --- output ------------------------------------------------------------------------

    def _todays_shifts(self) -> tuple[Shift, ...]:
        rules = self._hub.board.value.rules
        grace = timedelta(minutes=rules.staffing.grace_min)
        return current_shifts(self._hub.board.value.rotas, self._clock.now(), rules.timezone, grace)

    def _statuses(self) -> dict[str, DeskStatus]:
        board = self._hub.board.value
        now, wall_now = self._clock.monotonic(), self._clock.now()
        wanted = self._help.value if self._help is not None else {}
        shifts = self._todays_shifts() if wanted else ()
        statuses = {}
        for desk_id, desk in self._desks.items():
            agent = desk_agent(desk.config, board)
            message = desk.message if now < desk.message_until else None
            lacking = help_wanted(agent, wanted, shifts, wall_now)
            statuses[desk_id] = DeskStatus(
                desk.config,
                agent,
                desk.pending,
                message,
                desk_light(agent, desk.pending, desk.failure, now, lacking is not None),
                lacking,
            )
        return statuses

    def _refresh(self) -> None:
        statuses = self._statuses()
        if statuses != self.status.value:
            self.status.publish(statuses)

    def _next_deadline(self) -> float:
        now_wall, now = self._clock.now(), self._clock.monotonic()
        deadlines = [5.0 if self._unwritten else 30.0]
        for desk in self._desks.values():
            if desk.pending is not None:
                deadlines.append((desk.pending.expires - now_wall).total_seconds())
            if desk.failure is not None and desk.failure.until > now:
                deadlines.append(desk.failure.until - now)
            if desk.message is not None and desk.message_until > now:
                deadlines.append(desk.message_until - now)
        if self._help is not None and self._help.value:  # a standby shift begins or ends
            for shift in self._todays_shifts():
                for edge in (shift.start, shift.end):
                    if edge > now_wall:
                        deadlines.append((edge - now_wall).total_seconds())
        return max(0.01, min(deadlines) + 0.01)

    async def run_presses(self) -> NoReturn:
        while True:
            desk, held_s = await self._presses.get()
            if desk in self._desks:
                await self.press(desk, held_s)

    async def run(self) -> NoReturn:
        await self.resume()
        with contextlib.ExitStack() as watching:
            if self._help is not None:  # a queue wants help, or no longer
                watching.enter_context(self._help.subscribed(lambda _wanted: self._poke.set()))
            while True:
                await self._write_unwritten()
                await self._review()
                self._refresh()
                try:
                    async with asyncio.timeout(self._next_deadline()):
                        await self._poke.wait()
                except TimeoutError:
                    pass
                self._poke.clear()
