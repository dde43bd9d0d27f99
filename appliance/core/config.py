"""Appliance configuration: TOML parsed once into frozen, typed objects.

Every mistake is reported with the key it concerns (`alarms.waiting_warn: ...`), all at
once, so a technician fixes a file in one round. Secrets are never part of the config:
keys ending in `_file` point at files that hold them.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import msgspec

from appliance.core.contract import DEFAULT_PREFIX, HOTLINE_TIMEZONE, IDENTIFIER
from appliance.core.holidays import danish_holidays
from appliance.core.hours import WEEKDAYS, Schedule, parse_range
from appliance.core.toml_config import check_timezone, parse_toml, read_toml

Identifier = Annotated[str, msgspec.Meta(pattern=rf"^{IDENTIFIER.pattern}\Z")]
PositiveSeconds = Annotated[float, msgspec.Meta(gt=0, le=86_400)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class Section(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


def _default_appliance_id() -> str:
    name = socket.gethostname().split(".")[0].lower()
    return name if IDENTIFIER.fullmatch(name) else "appliance"


class SiteConfig(Section, frozen=True, kw_only=True):
    id: Identifier
    name: str = ""
    appliance: Identifier = msgspec.field(default_factory=_default_appliance_id)
    # The displays say the clock is not set until NTP has set it (a Pi has no battery
    # clock). True: the clock is right without NTP (a real-time clock, no network).
    trust_clock: bool = False


class MqttConfig(Section, frozen=True, kw_only=True):
    # One broker, or several tried in order: the first is home, the others stand in for it.
    url: str | tuple[str, ...] = "mqtt://localhost:1883"
    prefix: str = DEFAULT_PREFIX
    username: str = ""
    password_file: str = ""
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    protocol: Literal["5", "3.1.1"] = "5"
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    connect_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    stale_after_s: PositiveSeconds = 90.0
    health_interval_s: PositiveSeconds = 60.0
    # On a stand-in broker, how often the first is tried again (and gone back to).
    failback_every_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url,) if isinstance(self.url, str) else self.url

    def on(self, url: str) -> MqttConfig:
        """This config with `url` as its only broker."""
        return msgspec.structs.replace(self, url=url)

    # Of the first broker (the only one, mostly): the one-shot tools connect to it.
    @property
    def host(self) -> str:
        return urlsplit(self.urls[0]).hostname or "localhost"

    @property
    def port(self) -> int:
        parts = urlsplit(self.urls[0])
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlsplit(self.urls[0]).scheme == "mqtts"


def broker_name(url: str) -> str:
    """A broker's URL as said on /healthz and in logs: scheme, host and port, no user."""
    parts = urlsplit(url)
    port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
    return f"{parts.scheme}://{parts.hostname}:{port}"


class QueuesConfig(Section, frozen=True, kw_only=True):
    show: tuple[Identifier, ...] = ()  # empty: every queue the phone system publishes


class AgentsConfig(Section, frozen=True, kw_only=True):
    # "queues": agents serving a shown queue; "site": only this site's own staff.
    show: Literal["queues", "site"] = "queues"


Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class QueueAlarms(Section, frozen=True, kw_only=True):
    """`[alarms.queues.<queue>]`: a queue's own thresholds; what it leaves out, `[alarms]`'s."""

    waiting_warn: NonNegativeInt | None = None
    waiting_critical: NonNegativeInt | None = None
    longest_wait_warn_s: PositiveSeconds | None = None
    longest_wait_critical_s: PositiveSeconds | None = None
    sl_warn_pct: Percent | None = None
    sl_critical_pct: Percent | None = None
    abandon_warn_pct: Percent | None = None
    abandon_critical_pct: Percent | None = None


class AlarmsConfig(Section, frozen=True, kw_only=True):
    waiting_warn: NonNegativeInt = 3
    waiting_critical: NonNegativeInt = 6
    longest_wait_warn_s: PositiveSeconds = 120.0
    longest_wait_critical_s: PositiveSeconds = 300.0
    # The day's service level below, or its abandon rate above, these (off unless set);
    # judged once `ALARM_MIN_OFFERED` calls were offered, so one early miss is no alarm.
    sl_warn_pct: Percent | None = None
    sl_critical_pct: Percent | None = None
    abandon_warn_pct: Percent | None = None
    abandon_critical_pct: Percent | None = None
    queues: dict[Identifier, QueueAlarms] = msgspec.field(default_factory=dict)

    def for_queue(self, queue: str) -> AlarmsConfig:
        """The thresholds that apply to `queue`: its own, else these."""
        own = self.queues.get(queue)
        if own is None:
            return self
        changes = {f: v for f in own.__struct_fields__ if (v := getattr(own, f)) is not None}
        return msgspec.structs.replace(self, queues={}, **changes)


ServiceLevelFormula = Literal[
    "answered", "offered", "offered_excluding_abandoned_within", "offered_counting_abandoned_within"
]


class MetricsConfig(Section, frozen=True, kw_only=True):
    # Which service level the displays show (docs/municipalities.md has the four).
    service_level: ServiceLevelFormula = "answered"
    aht_includes_wrap: bool = False  # average handling time with the after-call work


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
# The original service: Sunday to Thursday, 18:30-22:00.
ORIGINAL_HOURS: dict[Weekday, tuple[str, ...]] = dict.fromkeys(
    ("sun", "mon", "tue", "wed", "thu"), ("18:30-22:00",)
)


class HoursConfig(Section, frozen=True, kw_only=True):
    timezone: str = HOTLINE_TIMEZONE
    weekly: dict[Weekday, tuple[str, ...]] = msgspec.field(
        default_factory=lambda: dict(ORIGINAL_HOURS)
    )
    holidays: str = "DK"  # public holidays closed; "" disables
    closed_dates: tuple[date, ...] = ()
    open_dates: dict[date, tuple[str, ...]] = msgspec.field(default_factory=dict)


class HistoryConfig(Section, frozen=True, kw_only=True):
    state_dir: str = ""  # "": $STATE_DIRECTORY (systemd), else ~/.local/state/hotline
    snapshot_interval_s: PositiveSeconds = 15.0
    flush_interval_s: PositiveSeconds = 60.0
    keep_daily_days: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 400
    keep_snapshots_days: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 30
    # The ledger's centres: a site belongs to the municipality it is named after
    # ("favrskov" → 710); one named otherwise is given here, site id → code.
    site_municipalities: dict[Identifier, Annotated[str, msgspec.Meta(pattern="^[0-9]{3}$")]] = (
        msgspec.field(default_factory=dict)
    )

    @property
    def database(self) -> Path:
        directory = self.state_dir or os.environ.get("STATE_DIRECTORY", "").split(":")[0]
        if not directory:
            directory = str(Path.home() / ".local" / "state" / "hotline")
        return Path(directory) / "hotline.db"


# The Alpha protocol's colour names (wallboard.sign.alpha has their codes).
SignColour = Literal[
    "red",
    "green",
    "amber",
    "dim_red",
    "dim_green",
    "brown",
    "orange",
    "yellow",
    "rainbow",
    "mix",
    "auto",
]


class SignConfig(Section, frozen=True, kw_only=True):
    port: str = ""  # a pyserial URL: /dev/wallboard, socket://host:port, rfc2217://...
    baudrate: Annotated[int, msgspec.Meta(ge=300, le=115_200)] = 9600
    framing: Literal["7E1", "8N1"] = "7E1"
    type: str = "all"  # all, one_line, two_line, betabrite, or a raw type code
    address: Annotated[str, msgspec.Meta(pattern="^[0-9A-Fa-f]{2}$")] = "00"
    layout: tuple[str, ...] = ("VENTER {waiting}  {longest}", "LEDIGE {available}  SAMTALE {busy}")
    colours: dict[Literal["ok", "warn", "critical"], SignColour] = msgspec.field(
        default_factory=lambda: {"ok": "green", "warn": "amber", "critical": "red"}
    )
    flash_critical: bool = True
    extended_chars: bool = True  # Æ and Å as the sign's own letters; else AE, AA
    min_interval_s: Annotated[float, msgspec.Meta(ge=0.05, le=10)] = 0.3


PinName = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class DeskConfig(Section, frozen=True, kw_only=True):
    id: Identifier
    agent: Identifier | None = None  # a fixed agent, or ...
    extension: str | None = None  # ... whoever is on duty at this phone (hot desking)
    button: PinName
    led: PinName | None = None
    rgb_led: tuple[PinName, PinName, PinName] | None = None
    buzzer: PinName | None = None
    hold_s: Annotated[float, msgspec.Meta(ge=0.3, le=10)] = 1.5
    pause_reason: str = "Pause"  # a press while available
    hold_reason: str = "Frokost"  # a hold while available
    queues: tuple[Identifier, ...] = ()  # the queues this desk's screen shows; () = all shown
    oled: str | None = None  # the name of an [[oled]] entry


class OledConfig(Section, frozen=True, kw_only=True):
    name: str
    # "dummy": no hardware, frames kept in memory (a PC, the demo, benchmarks)
    driver: Literal["ssd1306", "sh1106", "ssd1309", "ssd1322", "dummy"] = "ssd1306"
    width: Literal[128, 256] = 128
    height: Literal[32, 64] = 64
    interface: Literal["i2c", "spi"] = "i2c"
    i2c_port: int = 1
    i2c_address: Annotated[int, msgspec.Meta(ge=0x03, le=0x77)] = 0x3C
    spi_port: int = 0
    spi_device: int = 0
    gpio_dc: int = 24
    gpio_reset: int | None = 25
    rotate: Literal[0, 1, 2, 3] = 0


class DesksConfig(Section, frozen=True, kw_only=True):
    request_expiry_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 60
    # Refuse a press that would pause the last available agent of a shown queue during
    # open hours, unless the button is held for override_hold_s. 0 turns the guard off.
    min_available: Annotated[int, msgspec.Meta(ge=0, le=50)] = 0
    override_hold_s: Annotated[float, msgspec.Meta(ge=1, le=30)] = 5.0
    oled_dim_after_s: Annotated[float, msgspec.Meta(ge=10)] = 300.0
    oled_shift_every_s: Annotated[float, msgspec.Meta(ge=10)] = 180.0


class StaffingConfig(Section, frozen=True, kw_only=True):
    # A phone shift's agent not logged in this long after its start is missing; anyone on
    # duty this long outside every shift is unscheduled.
    grace_min: Annotated[int, msgspec.Meta(ge=0, le=120)] = 10
    # Agents needed now: enough for this share of callers answered within the threshold.
    sl_target_pct: Annotated[float, msgspec.Meta(gt=0, lt=100)] = 80.0
    sl_threshold_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 60.0
    # A queue critical this long calls the standby staff on the rota to their desks.
    help_after_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 120.0


class HomeAssistantConfig(Section, frozen=True, kw_only=True):
    discovery: bool = False  # each appliance as a Home Assistant device (MQTT discovery)
    prefix: str = "homeassistant"  # Home Assistant's discovery prefix


class WebConfig(Section, frozen=True, kw_only=True):
    listen: str = "0.0.0.0:8080"
    language: Literal["da", "en"] = "da"
    # What the TVs show: queues beside the agents, queues only, or agents only. A TV's
    # URL may ask for another (`/?layout=queues`), so one appliance can drive two TVs.
    layout: Literal["auto", "queues", "agents"] = "auto"
    admin_token_file: str = ""  # the bearer token for POST /api/desks/{desk}/press
    # Networks that may see the boards ("192.168.10.0/24"); empty: everyone. This
    # machine (the kiosk) always may.
    allow_from: tuple[str, ...] = ()
    tls_cert_file: str = ""  # both set: the wallboard is served over https
    tls_key_file: str = ""

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]") or "0.0.0.0"  # noqa: S104

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class Config(Section, frozen=True, kw_only=True):
    site: SiteConfig
    mqtt: MqttConfig = MqttConfig()
    queues: QueuesConfig = QueuesConfig()
    agents: AgentsConfig = AgentsConfig()
    alarms: AlarmsConfig = AlarmsConfig()
    metrics: MetricsConfig = MetricsConfig()
    web: WebConfig = WebConfig()
    hours: HoursConfig = HoursConfig()
    history: HistoryConfig = HistoryConfig()
    sign: SignConfig = SignConfig()
    desks: tuple[DeskConfig, ...] = ()
    oled: tuple[OledConfig, ...] = ()
    desk_settings: DesksConfig = DesksConfig()
    staffing: StaffingConfig = StaffingConfig()
    homeassistant: HomeAssistantConfig = HomeAssistantConfig()


# --- checks beyond the shape ----------------------------------------------------------


def _alarm_order(where: str, alarms: AlarmsConfig) -> list[str]:
    """Warn before critical: more waiting, a longer wait, a higher abandon rate, a lower SL."""
    errors = []
    for warn, critical, higher in (
        ("waiting_warn", "waiting_critical", True),
        ("longest_wait_warn_s", "longest_wait_critical_s", True),
        ("abandon_warn_pct", "abandon_critical_pct", True),
        ("sl_warn_pct", "sl_critical_pct", False),
    ):
        first, second = getattr(alarms, warn), getattr(alarms, critical)
        if first is None or second is None:
            continue
        if (first > second) if higher else (first < second):
            side = "above" if higher else "below"
            errors.append(f"{where}.{warn}: must not be {side} {where}.{critical}")
    return errors


def _check_consistency(config: Config) -> list[str]:
    errors = []
    for where, alarms in [("alarms", config.alarms)] + [
        (f"alarms.queues.{queue}", config.alarms.for_queue(queue)) for queue in config.alarms.queues
    ]:
        errors += _alarm_order(where, alarms)
    urls = config.mqtt.urls
    if not urls:
        errors.append("mqtt.url: give at least one broker")
    for index, text in enumerate(urls):
        key = "mqtt.url" if isinstance(config.mqtt.url, str) else f"mqtt.url[{index}]"
        url = urlsplit(text)
        if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
            errors.append(f"{key}: expected mqtt://host[:port] or mqtts://host[:port]")
        if url.password:
            errors.append(f"{key}: put the password in mqtt.password_file, not in the URL")
        try:
            url.port  # noqa: B018 - raises on a port out of range
        except ValueError as error:
            errors.append(f"{key}: {error}")
    prefix = config.mqtt.prefix
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or set("#+") & set(prefix):
        errors.append("mqtt.prefix: no wildcards and no leading or trailing '/'")
    for key in ("password_file", "ca_file", "cert_file", "key_file"):
        value = getattr(config.mqtt, key)
        if value and not Path(value).is_file():
            errors.append(f"mqtt.{key}: no such file: {value}")
    if config.mqtt.password_file and not config.mqtt.username and not url.username:
        errors.append("mqtt.password_file: needs mqtt.username")
    host, _, port = config.web.listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:  # 0: any free port
        errors.append("web.listen: expected host:port, e.g. 0.0.0.0:8080")
    errors += _check_web(config.web)
    if len(set(config.queues.show)) != len(config.queues.show):
        errors.append("queues.show: lists a queue twice")
    return errors + _check_hours(config.hours) + _check_sign(config.sign) + _check_desks(config)


def _check_web(web: WebConfig) -> list[str]:
    errors = []
    for network in web.allow_from:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as error:
            errors.append(f"web.allow_from: {error}")
    if bool(web.tls_cert_file) != bool(web.tls_key_file):
        errors.append("web.tls_cert_file: give both web.tls_cert_file and web.tls_key_file")
    for key in ("tls_cert_file", "tls_key_file", "admin_token_file"):
        value = getattr(web, key)
        if value and not Path(value).is_file():
            errors.append(f"web.{key}: no such file: {value}")
    return errors


def _check_desks(config: Config) -> list[str]:
    errors = []
    oleds = [oled.name for oled in config.oled]
    if len(set(oleds)) != len(oleds):
        errors.append("oled.name: two [[oled]] entries share a name")
    ids = [desk.id for desk in config.desks]
    if len(set(ids)) != len(ids):
        errors.append("desks.id: two desks share an id")
    for index, desk in enumerate(config.desks):
        key = f"desks[{index}]"
        if (desk.agent is None) == (desk.extension is None):
            errors.append(f"{key}: give either agent or extension")
        if desk.led and desk.rgb_led:
            errors.append(f"{key}: give either led or rgb_led")
        if desk.oled and desk.oled not in oleds:
            errors.append(f"{key}.oled: no [[oled]] named {desk.oled!r}")
    return errors


def _check_sign(sign: SignConfig) -> list[str]:
    # The layout's fields are checked by the sign's own code (wallboard.sign.layout),
    # composed with these checks by the programs' loader.
    if len(sign.type) != 1 and sign.type not in ("all", "one_line", "two_line", "betabrite"):
        return ["sign.type: all, one_line, two_line, betabrite, or one type-code letter"]
    return []


def _check_hours(hours: HoursConfig) -> list[str]:
    errors = check_timezone("hours.timezone", hours.timezone)
    tables = [(f"hours.weekly.{day}", ranges) for day, ranges in hours.weekly.items()]
    tables += [(f"hours.open_dates.{day}", ranges) for day, ranges in hours.open_dates.items()]
    for key, ranges in tables:
        for text in ranges:
            try:
                parse_range(text)
            except ValueError as error:
                errors.append(f"{key}: {error}")
    if hours.holidays and hours.holidays != "DK":  # Denmark's are built in
        import holidays  # noqa: PLC0415

        try:
            holidays.country_holidays(hours.holidays)
        except NotImplementedError:
            errors.append(f"hours.holidays: no holiday calendar for {hours.holidays!r}")
    return errors


Check = Callable[[Config], list[str]]


def parse_config(text: str, source: str = "config", checks: Sequence[Check] = ()) -> Config:
    """The config in `text`; `checks` are the sections' own checks beyond the core's."""

    def check(config: Config) -> list[str]:
        return _check_consistency(config) + [e for extra in checks for e in extra(config)]

    return parse_toml(text, Config, source, check)


def load_config(path: str | Path, checks: Sequence[Check] = ()) -> Config:
    return read_toml(path, lambda text, source: parse_config(text, source, checks))


def build_schedule(hours: HoursConfig, years: range) -> Schedule:
    """The Schedule of a (validated) `[hours]` config, with holidays for `years`."""
    closed = set(hours.closed_dates)
    if hours.holidays == "DK":
        closed |= {day for year in years for day in danish_holidays(year)}
    elif hours.holidays:
        import holidays  # noqa: PLC0415 - other countries: the library, loaded only then

        closed |= set(holidays.country_holidays(hours.holidays, years=list(years)))
    special = sorted(hours.open_dates.items())
    return Schedule(
        timezone=ZoneInfo(hours.timezone),
        weekly=tuple(
            tuple(parse_range(text) for text in hours.weekly.get(day, ()))  # type: ignore[call-overload]
            for day in WEEKDAYS
        ),
        closed=frozenset(closed),
        special=tuple(
            (day, tuple(parse_range(text) for text in ranges)) for day, ranges in special
        ),
    )


def read_secret(path: str) -> str | None:
    """The first line of a secret file, or None when no file is configured."""
    if not path:
        return None
    return Path(path).read_text(encoding="utf-8").splitlines()[0].strip()


def redacted(config: Config) -> dict[str, Any]:
    """The config as a dict that is safe to log: file paths only, never file contents."""
    data: dict[str, Any] = msgspec.to_builtins(config)
    urls = [_without_user(url) for url in config.mqtt.urls]
    data["mqtt"]["url"] = urls[0] if isinstance(config.mqtt.url, str) else urls
    return data


def _without_user(text: str) -> str:
    url = urlsplit(text)
    return url._replace(netloc=f"***@{url.hostname}:{url.port}").geturl() if url.username else text
