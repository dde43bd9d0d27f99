"""The appliance, wired in one place: one TaskGroup owns every long-running task."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import signal
import ssl
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, NoReturn

import msgspec
from aiohttp import web
from PIL import Image

from appliance import __version__
from appliance.core.board import BoardRules, ClockSure
from appliance.core.clock import Clock, SystemClock
from appliance.core.config import Config, WebConfig, read_secret
from appliance.core.contract import Topics
from appliance.core.desk import Refusal
from appliance.core.errors import ConfigError, NotConnectedError
from appliance.core.health import HealthReport, Outputs
from appliance.core.homeassistant import Appliance as HomeAssistantDevice
from appliance.core.ledger import ledger, ledger_json
from appliance.core.municipalities import site_municipalities
from appliance.core.periods import stats_report
from appliance.drivers.gpio import DeskPins
from appliance.drivers.mqtt import MqttLink
from appliance.drivers.municipalities import shipped_municipalities
from appliance.drivers.oled import DeviceFactory, make_device
from appliance.drivers.serial_sign import Opener, serial_for_url
from appliance.drivers.store import AsyncStore
from appliance.drivers.systemd import Notifier
from appliance.features.admin import AdminOverMqtt
from appliance.features.desk_displays import DeskDisplays, DeskGpio, OledOutput, desk_reports
from appliance.features.desks import Desks
from appliance.features.fleet import FleetWatch
from appliance.features.health import health_report, prometheus_text
from appliance.features.help_calls import HelpCalls
from appliance.features.homeassistant import HomeAssistantDiscovery
from appliance.features.hub import BoardHub
from appliance.features.recorder import HistoryRecorder, local_midnight
from appliance.features.sign_output import SignDriver
from appliance.runtime.supervise import describe, supervise
from wallboard.live import ViewPublisher
from wallboard.web.app import WebDeps, create_app, serve
from wallboard.words import press_text

Row = dict[str, Any]
log = logging.getLogger(__name__)
CLOCK_UNSURE_RECHECK_S = 5.0  # until NTP has set the clock: the displays follow soon
CLOCK_RECHECK_S = 300.0  # once set: a clock that loses it is seen within minutes


def _web_tls(web: WebConfig) -> ssl.SSLContext | None:
    if not web.tls_cert_file:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(web.tls_cert_file, web.tls_key_file)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError("web", [f"web.tls_cert_file: cannot load: {error}"]) from error
    return context


class Appliance:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        extend_web: Callable[[web.Application], None] | None = None,
        notifier: Notifier | None = None,
        pin_factory: Any = None,
        oled_factory: DeviceFactory = make_device,
        sign_opener: Opener = serial_for_url,
        freeze_start: bool = False,
        clock_synchronised: Callable[[], bool | None] | None = None,
    ) -> None:
        self.config = config
        self._freeze_start = freeze_start
        # None: the clock is taken as right (tests, the demo); `hotline run` asks the kernel.
        self._clock_synchronised = None if config.site.trust_clock else clock_synchronised
        self._extend_web = extend_web
        self.notifier = notifier or Notifier()
        self._pin_factory = pin_factory
        self.clock = clock or SystemClock()
        self.started = self.clock.monotonic()
        site = config.site
        self.topics = Topics(config.mqtt.prefix)
        today = self.clock.now().date()
        self._names = {m.code: m.name for m in shipped_municipalities()}
        self._site_municipalities = site_municipalities(
            shipped_municipalities(), config.history.site_municipalities
        )
        rules = BoardRules.from_config(config, today, self._names)
        self.hub = BoardHub(rules, self.topics, self.clock)
        self.outputs = Outputs()
        self.fleet = FleetWatch(self.topics, self.clock)
        self.link = MqttLink(
            config.mqtt,
            client_id=f"hotline-{site.id}-{site.appliance}",
            subscriptions=self.topics.appliance_subscriptions(site.id)
            + self.topics.fleet_subscriptions(),
            on_message=self._on_message,
            on_connection=self.hub.on_connection,
            availability_topic=self.topics.appliance_status(site.id, site.appliance),
            # A first broker back from a restart is gone back to once it holds the phone
            # system's status again (its bridge has brought the state over).
            home_check=self.topics.system_status,
        )
        self.views = ViewPublisher(self.hub.board, self.clock, site.name)
        self.store = AsyncStore(config.history.database)
        self.recorder = HistoryRecorder(
            self.hub.board, self.store, self.clock, config.history, self.outputs
        )
        self.history_ok = False
        self.sign = (
            SignDriver(
                config.sign,
                self.views.models,
                self.clock,
                self.outputs,
                language=config.web.language,
                opener=sign_opener,
            )
            if config.sign.port
            else None
        )
        self.help_calls = HelpCalls(self.views.models, self.clock, config.staffing.help_after_s)
        self.desks = Desks(
            config,
            self.hub,
            self.link.publish,
            self.store,
            self.clock,
            help_calls=self.help_calls.wanted,
        )
        self.desk_displays = DeskDisplays(
            self.desks.status,
            self.views.models,
            clock=self.clock,
            language=config.web.language,
            timezone=self.hub.board.value.rules.timezone,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self.gpio = {
            desk.id: DeskGpio(
                desk, self.desk_displays.lights[desk.id], self._button_pressed, pin_factory
            )
            for desk in config.desks
        }
        oleds = {oled.name: oled for oled in config.oled}
        self._oled_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oled")
        self.screens = {
            desk.id: OledOutput(
                desk.id,
                oleds[desk.oled],
                self.desk_displays.screens[desk.id],
                factory=oled_factory,
                executor=self._oled_thread,
                clock=self.clock,
                settings=config.desk_settings,
            )
            for desk in config.desks
            if desk.oled
        }
        ha = config.homeassistant
        self.homeassistant = (
            HomeAssistantDiscovery(
                HomeAssistantDevice(site.id, site.appliance, site.name, __version__),
                self.topics,
                self.hub.board,
                publish=self.link.publish,
                wait_connected=self.link.wait_connected,
                prefix=ha.prefix,
            )
            if ha.discovery
            else None
        )
        self._history_tried = asyncio.Event()
        self.web_port: int | None = None
        self.ready = asyncio.Event()

    @property
    def pins(self) -> dict[str, DeskPins]:
        """The desks whose GPIO is up now (a desk whose pins failed is retried)."""
        return {desk: gpio.pins for desk, gpio in self.gpio.items() if gpio.pins is not None}

    def _button_pressed(self, desk: str, held_s: float) -> None:
        """From gpiozero's threads: the press goes to the event loop."""
        if self._loop is not None:
            self.desks.press_from_thread(self._loop, desk, held_s)

    def _on_message(self, topic: str, payload: bytes) -> None:
        if not self.fleet.on_message(topic, payload):  # the fleet's, or the board's
            self.hub.on_message(topic, payload)

    def health(self) -> HealthReport:
        broker = (self.link.broker, self.link.on_stand_in)
        return health_report(self.hub, self.outputs, self.started, self.link.last_error, broker)

    def _web_ready(self, port: int) -> None:
        self.web_port = port
        self.outputs.ok("web")
        self.ready.set()
        self.notifier.ready(self.status_line())
        if self._freeze_start:
            # What start-up made (libraries, config, the first board: ~56,000 objects) lives
            # as long as the process. Frozen, the collector's full passes skip it: one took
            # 60 ms here, a board update late by as much every few minutes.
            gc.freeze()

    def status_line(self) -> str:
        """One line for `systemctl status`: the feed, the queues, what is wrong."""
        report = self.health()
        board = self.views.models.value
        waiting = sum(queue.waiting or 0 for queue in board.queues)
        line = f"{board.feed}, {len(board.queues)} queues, {waiting} waiting"
        return line + (f"; {report.reasons[0]}" if report.reasons else "")

    async def history(self, first: date, last: date) -> dict[str, Any]:
        """Today's curve of waiting callers per queue, and daily statistics first..last."""
        if not self.history_ok:
            return {"v": 1, "today": {}, "daily": [], "error": "history unavailable"}
        timezone = self.hub.board.value.rules.timezone
        since = local_midnight(self.clock.now(), timezone)
        curve = await self.store.run(lambda store: store.curve(since))
        daily, places, sites = await self._period(first, last)
        return {
            "v": 1,
            "today": curve,
            "daily": daily,
            "municipalities": places,
            "sites": sites,
            "ledger": ledger_json(ledger(places, sites, self._site_municipalities, self._names)),
        }

    async def _period(self, first: date, last: date) -> tuple[list[Row], list[Row], list[Row]]:
        """The period's daily rows: per queue, per queue and municipality, per site."""
        span = (first.isoformat(), last.isoformat())
        return await self.store.run(
            lambda store: (
                store.daily(*span),
                store.daily_by_municipality(*span),
                store.daily_by_site(*span),
            )
        )

    async def stats(self, first: date, last: date, group: str, by: str) -> dict[str, Any]:
        """/stats: the period in days, weeks or months per queue or municipality, and its
        ledger; every service level worked out from the summed counts."""
        if not self.history_ok:
            return {"v": 1, "series": [], "ledger": None, "error": "history unavailable"}
        daily, places, sites = await self._period(first, last)
        threshold = next(
            (
                e.state.today.sl_threshold_s
                for e in self.hub.board.value.queues.values()
                if e.state.today
            ),
            None,
        )
        return stats_report(
            daily=daily,
            places=places,
            sites=sites,
            span=(first.isoformat(), last.isoformat()),
            group=group,  # type: ignore[arg-type]  # checked by the web app
            by=by,  # type: ignore[arg-type]
            formula=self.config.metrics.service_level,
            sl_threshold_s=threshold,
            names=self._names,
            site_municipality=self._site_municipalities,
        )

    def counters(self) -> dict[str, int]:
        """Display work, for /metrics: what the outputs actually did."""
        counters = {
            "board_renders_total": self.views.renders,
            "oled_frames_total": sum(screen.frames for screen in self.screens.values()),
        }
        if self.sign is not None:
            counters |= {
                "sign_writes_total": self.sign.writes,
                "sign_bytes_total": self.sign.bytes_written,
            }
        return counters

    def desk_reports(self) -> list[dict[str, Any]]:
        return desk_reports(
            self.desks.status.value, self.screens, self.gpio, language=self.config.web.language
        )

    def desk_frame(self, desk: str) -> Image.Image | None:
        screen = self.screens.get(desk)
        return None if screen is None or screen.shown is None else screen.shown.image

    async def press(self, desk: str, held_s: float) -> dict[str, Any]:
        """A press as the web API makes it: the same path as the button's."""
        decision = await self.desks.press(desk, held_s)
        if isinstance(decision, Refusal):
            message = press_text(decision.message, self.config.web.language)
            return {"desk": desk, "result": "refused", "message": message}
        return {
            "desk": desk,
            "result": "requested",
            "agent": decision.agent,
            "state": decision.state,
            "reason": decision.reason,
        }

    async def _run_history(self) -> NoReturn:
        """History is a nicety: if its disk fails, the displays carry on, and it is retried."""
        try:
            if not self.history_ok:
                try:
                    await self.store.open()
                    await self.recorder.load_today(self.hub.board.value.rules.timezone)
                except Exception as error:
                    where = self.config.history.database
                    raise OSError(f"cannot open {where}: {describe(error)}") from error
                self.outputs.ok("history")
                self.history_ok = True
        finally:
            self._history_tried.set()  # the desks may start: with or without their history
        await self.recorder.run()

    async def run(self) -> None:
        try:
            await self._run_tasks()
        finally:
            self.notifier.stopping()
            self.notifier.close()
            self._oled_thread.shutdown(wait=False)
            await self.store.close()

    async def _run_tasks(self) -> None:
        web = self.config.web
        tls = _web_tls(web)
        app = create_app(
            WebDeps(
                deltas=self.views.deltas,
                snapshot=self.views.snapshot,
                render_board=self.views.render,
                health=self.health,
                metrics=lambda: prometheus_text(self.hub, self.counters(), self.outputs),
                history=self.history,
                stats=self.stats,
                press=self.press,
                desks=tuple(desk.id for desk in self.config.desks),
                desk_reports=self.desk_reports,
                desk_frame=self.desk_frame,
                admin_token=read_secret(web.admin_token_file),
                today=lambda: (
                    self.clock.now().astimezone(self.hub.board.value.rules.timezone).date()
                ),
                language=web.language,
                layout=web.layout,
                title=self.config.site.name or "Digital hotline",
                allow_from=tuple(ipaddress.ip_network(n, strict=False) for n in web.allow_from),
                site=self.config.site.id,
                fleet=self.fleet.report,
                admin=AdminOverMqtt(
                    self.link.publish, self.topics, self.clock, self.hub.board.value.rules.timezone
                ),
                secure_cookies=tls is not None,
            )
        )
        if self._extend_web is not None:
            self._extend_web(app)
        self._loop = asyncio.get_running_loop()
        async with asyncio.TaskGroup() as group:
            # The two parts whose loss is fatal (systemd restarts the appliance) ...
            group.create_task(self.link.run(), name="mqtt")
            group.create_task(self.views.run(), name="board-views")
            group.create_task(serve(app, web.host, web.port, self._web_ready, tls), name="web")
            # ... and everything else, supervised: its failure is reported and retried.
            self._supervised(group, "health publisher", self._publish_health)
            if self.notifier.enabled:
                self._supervised(group, "systemd", lambda: self.notifier.run(self.status_line))
            self._supervised(group, "history", self._run_history)
            if self._clock_synchronised is not None:
                self._supervised(group, "clock", self._watch_clock)
            if self.homeassistant is not None:
                self._supervised(group, "home assistant", self.homeassistant.run)
            if self.sign is not None:
                self._supervised(group, "sign", self.sign.run)
            if self.config.desks:
                group.create_task(self._run_desks(group), name="desks-start")
                self._supervised(group, "desk screens", self.desk_displays.run)
                self._supervised(group, "help calls", self.help_calls.run)
            for desk, gpio in self.gpio.items():
                self._supervised(group, f"desk {desk}", gpio.run, reports_ok=True)
            for screen in self.screens.values():
                self._supervised(group, screen.output, screen.run, reports_ok=True)

    def _supervised(
        self,
        group: asyncio.TaskGroup,
        name: str,
        run: Callable[..., Coroutine[Any, Any, object]],
        *,
        reports_ok: bool = False,
    ) -> None:
        """Run `run` under supervision; `reports_ok`: it is told how to say it works again."""

        def start() -> Coroutine[Any, Any, object]:
            return run(lambda: self.outputs.ok(name)) if reports_ok else run()

        group.create_task(supervise(name, start, self.outputs), name=name)

    async def _run_desks(self, group: asyncio.TaskGroup) -> None:
        """Desks start once the history was tried: they take up unfinished presses from it."""
        await self._history_tried.wait()
        self._supervised(group, "desks", self.desks.run)
        self._supervised(group, "desk presses", self.desks.run_presses)

    async def _watch_clock(self) -> NoReturn:
        """Until NTP has set the clock the displays say it is not set (no wrong day)."""
        assert self._clock_synchronised is not None
        while True:
            sure = await asyncio.to_thread(self._clock_synchronised) is not False
            self.hub.apply(ClockSure(sure))
            await asyncio.sleep(CLOCK_RECHECK_S if sure else CLOCK_UNSURE_RECHECK_S)

    async def _publish_health(self) -> NoReturn:
        site = self.config.site
        topic = self.topics.appliance_health(site.id, site.appliance)
        while True:
            await self.link.wait_connected()
            try:
                payload = msgspec.json.encode(self.health().payload)
                await self.link.publish(topic, payload, qos=0, retain=True)
            except NotConnectedError:
                continue
            await asyncio.sleep(self.config.mqtt.health_interval_s)


def run_until_stopped(main: Callable[[], Coroutine[Any, Any, object]]) -> None:
    """Run `main` until Ctrl-C or SIGTERM; both end it through cancellation, cleanly."""

    async def guarded() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        try:
            await main()
        except asyncio.CancelledError:
            log.info("stopped")

    asyncio.run(guarded())
