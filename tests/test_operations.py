"""For 19 centres: the fleet (/fleet, `hotline fleet`), /admin, Home Assistant discovery.

Real Mosquitto, the real appliance, headless Chromium for the pages; other appliances of
the fleet are their retained status and health messages, as they would be on the broker.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory

from appliance.core.contract import Topics
from appliance.core.fleet import fold, rows
from appliance.programs.service import Appliance
from tests.conftest import make_config, running, until
from tests.support import payloads
from tests.support.chromium import CHROMIUM, chromium_page
from tests.support.mosquitto import Mosquitto
from tests.test_desks import with_admin_token

NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
TOKEN = "s3cret-admin-token"


def health(**fields: Any) -> bytes:
    base = {
        "v": 1, "ts": NOW.isoformat(), "version": "1.2.0", "uptime_s": 3600,
        "mqtt_connected": True, "feed": "live", "last_message_age_s": 2.0,
        "outputs": [{"name": "web", "status": "ok", "message": None}],
        "rejected_messages": 0, "healthy": True, "reasons": [],
        "broker": "mqtts://broker:8883", "broker_stand_in": False,
    }  # fmt: skip
    return json.dumps(base | fields).encode()


def test_the_fleet_puts_trouble_first_and_says_since_when() -> None:
    fleet = fold({}, "aarhus", "tv-1", "status", b"online", now=NOW)
    fleet = fold(fleet, "aarhus", "tv-1", "health", health(), now=NOW)
    fleet = fold(fleet, "skive", "pi", "status", b"offline", now=NOW)
    fleet = fold(fleet, "skive", "pi", "health", health(ts=(NOW - timedelta(hours=2)).isoformat()),
                 now=NOW)  # fmt: skip
    sign_down = [{"name": "sign", "status": "error", "message": "/dev/wallboard: unplugged"}]
    fleet = fold(fleet, "favrskov", "pi", "status", b"online", now=NOW)
    fleet = fold(fleet, "favrskov", "pi", "health", health(outputs=sign_down, healthy=False,
                 reasons=["sign: /dev/wallboard: unplugged"]), now=NOW)  # fmt: skip
    fleet = fold(fleet, "viborg", "pi", "status", b"online", now=NOW)
    fleet = fold(fleet, "viborg", "pi", "health", health(broker_stand_in=True), now=NOW)
    fleet = fold(fleet, "lemvig", "pi", "status", b"online", now=NOW)
    fleet = fold(fleet, "lemvig", "pi", "health", b"{not json", now=NOW)
    found = rows(fleet, NOW)
    assert [(r.site, r.severity) for r in found] == [
        ("skive", "offline"), ("favrskov", "fault"), ("lemvig", "fault"), ("viborg", "warning"),
        ("aarhus", "ok"),
    ]  # fmt: skip
    skive, favrskov, lemvig, viborg, aarhus = found
    assert skive.since == (NOW - timedelta(hours=2)).isoformat()  # last heard from
    assert aarhus.since == (NOW - timedelta(hours=1)).isoformat()  # started: ts - uptime
    assert favrskov.errors == ["sign: /dev/wallboard: unplugged"]  # once, not twice
    assert lemvig.errors[0].startswith("unreadable health message")
    assert viborg.errors == ["on the stand-in broker mqtts://broker:8883"]
    # Silent for too long: in trouble even though its status still says online.
    assert rows(fleet, NOW + timedelta(minutes=6))[-1].severity == "fault"
    # Hostile or broken health never breaks the fleet: that appliance is at fault, alone.
    for hostile in ({"outputs": 5}, {"reasons": "bad"}, {"uptime_s": 1e300},
                    {"ts": "0001-01-01T00:00:00+00:00", "uptime_s": 100}):  # fmt: skip
        broken = fold(fleet, "lemvig", "pi", "health", json.dumps(hostile).encode(), now=NOW)
        assert len(rows(broken, NOW)) == 5  # every row made, none raised
    # A clock ahead is taken as heard when it arrived: it still falls silent.
    tomorrow = (NOW + timedelta(days=1)).isoformat()
    ahead = fold(fleet, "aarhus", "tv-1", "health", health(ts=tomorrow), now=NOW)
    assert rows(ahead, NOW + timedelta(minutes=6))[0].severity != "ok"
    # An empty retained status takes an appliance out of the fleet.
    assert len(rows(fold(fleet, "skive", "pi", "status", b"", now=NOW), NOW)) == 4


async def the_fleet_on(broker: Mosquitto, topics: Topics) -> None:
    """Two other appliances on the broker: one gone offline, one with its sign down."""
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        now = datetime.now(UTC)
        down = [{"name": "sign", "status": "error", "message": "unplugged"}]
        for site, status, body in (
            ("skive", b"offline", health(ts=(now - timedelta(minutes=30)).isoformat())),
            ("viborg", b"online", health(ts=now.isoformat(), outputs=down, healthy=False)),
        ):
            await client.publish(topics.appliance_status(site, "pi"), status, qos=1, retain=True)
            await client.publish(topics.appliance_health(site, "pi"), body, qos=1, retain=True)


pytestmark_browser = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no chromium")


@pytestmark_browser
async def test_fleet_page_shows_every_appliance_trouble_first(
    broker: Mosquitto, topics: Topics, tmp_path: Path
) -> None:
    await the_fleet_on(broker, topics)
    async with running(Appliance(make_config(broker.url, topics))) as app:
        base = f"http://127.0.0.1:{app.web_port}"
        await until(lambda: len(app.fleet.fleet.value) == 3, what="three appliances")
        async with aiohttp.ClientSession() as http, http.get(f"{base}/api/fleet") as reply:
            report = await reply.json()
        # This appliance has no phone system here: at fault too, beside viborg's sign.
        assert [(a["site"], a["severity"]) for a in report["appliances"]] == [
            ("skive", "offline"), ("favrskov", "fault"), ("viborg", "fault"),
        ]  # fmt: skip
        async with chromium_page(1280, 720) as page:
            await page.goto(f"{base}/fleet")
            await page.wait_for("document.querySelectorAll('#rows tr').length === 3")
            first = await page.evaluate("document.querySelector('#rows tr').textContent")
            assert "Offline" in first
            assert "skive" in first
            assert "unplugged" in await page.evaluate(
                "document.querySelectorAll('#rows tr')[2].textContent"
            )
            for width, height in ((1280, 720), (1920, 1080)):
                await page.viewport(width, height)
                await page.settle()
                overflow = await page.evaluate(
                    "document.documentElement.scrollWidth > window.innerWidth"
                )
                assert not overflow, f"the fleet table is wider than {width} px"
                await page.screenshot(tmp_path / f"fleet-{width}.png")
            assert page.exceptions == []


async def test_hotline_fleet_prints_the_table_and_exits_1_on_trouble(
    broker: Mosquitto, topics: Topics
) -> None:
    await the_fleet_on(broker, topics)
    command = [sys.executable, "-m", "appliance", "fleet", "--broker", broker.url,
               "--prefix", topics.prefix]  # fmt: skip
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["STATE", "SITE", "APPLIANCE"]
    assert lines[1].split()[:2] == ["OFFLINE", "skive"]
    assert "    - sign: unplugged" in lines
    as_json = await asyncio.to_thread(
        subprocess.run, [*command, "--json"], capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    assert [row["severity"] for row in json.loads(as_json.stdout)] == ["offline", "fault"]


def admin_appliance(broker: Mosquitto, topics: Topics, tmp_path: Path) -> Appliance:
    token = tmp_path / "admin.token"
    token.write_text(TOKEN + "\n")
    return Appliance(make_config(broker.url, topics, web=f'admin_token_file = "{token}"\n'))


async def test_admin_changes_need_the_session_cookie_and_its_csrf_token(
    broker: Mosquitto, topics: Topics, tmp_path: Path
) -> None:
    async with running(admin_appliance(broker, topics, tmp_path)) as app:
        base = f"http://127.0.0.1:{app.web_port}"
        here = {"Origin": base}
        message = {"target": "favrskov", "text": "Personalemøde kl. 21.30"}
        # unsafe: aiohttp keeps no cookies for an IP address (127.0.0.1) otherwise
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{base}/admin/api/message", json=message, headers=here) as r:
                assert r.status == 401  # no session
            async with http.post(f"{base}/admin/login", json={"token": "guess"}, headers=here) as r:
                assert r.status == 401
            async with http.post(f"{base}/admin/login", json={"token": TOKEN},
                                 headers={"Origin": "http://evil.example"}) as r:  # fmt: skip
                assert r.status == 403
            async with http.post(f"{base}/admin/login", json={"token": TOKEN}, headers=here) as r:
                assert r.status == 200
                csrf = (await r.json())["csrf"]
                cookie = r.headers["Set-Cookie"]
            assert re.search(r"HttpOnly", cookie, re.IGNORECASE)
            assert re.search(r"SameSite=Strict", cookie)
            assert TOKEN not in cookie
            # The cookie alone is not enough: a forged form or script has no CSRF token.
            async with http.post(f"{base}/admin/api/message", json=message, headers=here) as r:
                assert r.status == 403
            forged = {"Origin": "http://evil.example", "X-CSRF-Token": csrf}
            async with http.post(f"{base}/admin/api/message", json=message, headers=forged) as r:
                assert r.status == 403
            ok = here | {"X-CSRF-Token": csrf}
            other = message | {"target": "skive"}  # another centre's ticker is not ours
            async with http.post(f"{base}/admin/api/message", json=other, headers=ok) as r:
                assert r.status == 400
            async with http.post(f"{base}/admin/api/message", json=message, headers=ok) as r:
                assert r.status == 200, await r.text()
            await until(lambda: bool(app.views.models.value.ticker), what="the ticker")
            # The rota: every mistake in the file said, nothing published; then a good one.
            day = (datetime.now(UTC) + timedelta(days=1)).date()
            wrong = f"agent,start,end,role\na2101,{day}T18:30,{day}T17:00,phone\n"
            rota = ok | {"X-File-Name": "vagter%20december.csv"}
            async with http.post(f"{base}/admin/api/rota", data=wrong, headers=rota) as r:
                assert r.status == 400
                assert "vagter december.csv" in await r.text()
            good = f"agent,start,end,role,name\na2101,{day}T18:30,{day}T22:00,phone,Mette\n"
            async with http.post(f"{base}/admin/api/rota", data=good, headers=rota) as r:
                assert r.status == 200, await r.text()
                assert (await r.json())["days"] == [
                    {"date": day.isoformat(), "shifts": 1, "standby": 0}
                ]
            await until(lambda: day in app.hub.board.value.rotas, what="the rota on the board")
            async with http.post(f"{base}/admin/logout", headers=ok) as r:
                assert r.status == 200
            async with http.post(f"{base}/admin/api/message", json=message, headers=ok) as r:
                assert r.status == 401  # the session is gone


@pytestmark_browser
async def test_a_supervisor_logs_in_posts_and_clears_a_message_and_sees_the_desks(
    broker: Mosquitto, topics: Topics, pins: MockFactory, tmp_path: Path
) -> None:
    with_desk = with_admin_token(broker, topics, pins, tmp_path)  # one desk, agent a1
    async with running(with_desk) as app, chromium_page() as page:
        async with aiomqtt.Client("127.0.0.1", broker.port) as phone:
            await phone.publish(topics.agent("a1"), payloads.agent("a1", "paused"), qos=1,
                                retain=True)  # fmt: skip
        await page.goto(f"http://127.0.0.1:{app.web_port}/admin")
        await page.wait_for("!document.getElementById('login-section').hidden")
        await page.evaluate("document.getElementById('token').value = 'wrong'")
        await page.evaluate("document.getElementById('login').click()")
        await page.wait_for("document.getElementById('login-result').textContent !== ''")
        assert await page.evaluate("document.getElementById('admin-section').hidden")
        await page.evaluate("document.getElementById('token').value = 's3cret-token'")
        await page.evaluate("document.getElementById('login').click()")
        await page.wait_for("!document.getElementById('admin-section').hidden")
        assert await page.evaluate("document.cookie") == ""  # HttpOnly: not for scripts
        # Every desk: its agent and state, and the picture on its OLED.
        await page.wait_for("document.querySelectorAll('#desks tr').length === 1")
        desk = await page.evaluate("document.querySelector('#desks tr').textContent")
        assert "desk-1" in desk
        assert "a1" in desk
        await page.wait_for("document.querySelector('#desks img').naturalWidth > 0")
        await page.evaluate("document.getElementById('text').value = 'Husk mødet kl. 21.30'")
        # Shown until a minute from now, as the page's time field says it (local time).
        await page.evaluate(
            "(() => { const d = new Date(Date.now() + 60000); d.setSeconds(0, 0);"
            " const local = new Date(d - d.getTimezoneOffset() * 60000);"
            " document.getElementById('until').value = local.toISOString().slice(0, 16); })()"
        )
        await page.evaluate("document.getElementById('post').click()")
        await until(
            lambda: [t.text for t in app.views.models.value.ticker] == ["Husk mødet kl. 21.30"],
            what="the message on the board",
        )
        expires = next(iter(app.hub.board.value.ticker.values())).expires
        assert expires is not None
        assert 0 < (expires - datetime.now(UTC)).total_seconds() <= 60
        await page.screenshot(tmp_path / "admin.png")
        await page.evaluate("document.getElementById('clear').click()")
        await until(lambda: not app.views.models.value.ticker, what="the message cleared")
        # A reload keeps the session: the token is asked for once.
        await page.goto(f"http://127.0.0.1:{app.web_port}/admin")
        await page.wait_for("!document.getElementById('admin-section').hidden")
        assert page.exceptions == []


async def test_home_assistant_discovery_follows_the_documented_schema(
    broker: Mosquitto, topics: Topics
) -> None:
    config = make_config(broker.url, topics, extra=ALWAYS_OPEN_HA)
    configs: dict[str, dict[str, Any]] = {}
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe("homeassistant/#", qos=1)
        await client.publish(topics.system_status, b"online", qos=1, retain=True)
        await client.publish(topics.queue("borger"), payloads.queue(waiting=2), qos=1, retain=True)
        async with running(Appliance(config)):

            async def collect(count: int) -> None:
                async with asyncio.timeout(10):
                    async for message in client.messages:
                        configs[str(message.topic)] = json.loads(message.payload)
                        if len(configs) >= count:
                            return

            await collect(4)  # online, health, last message age, waiting in "borger"
            await client.publish(topics.queue("erhverv"), payloads.queue("erhverv"), qos=1)
            await collect(5)  # a queue that came: its sensor too
    node = "hotline_favrskov_test"
    assert set(configs) == {
        f"homeassistant/binary_sensor/{node}/online/config",
        f"homeassistant/sensor/{node}/health/config",
        f"homeassistant/sensor/{node}/last_message_age/config",
        f"homeassistant/sensor/{node}/waiting_borger/config",
        f"homeassistant/sensor/{node}/waiting_erhverv/config",
    }
    for topic, payload in configs.items():
        check_discovery(topic, payload)
    online = configs[f"homeassistant/binary_sensor/{node}/online/config"]
    assert online["state_topic"] == topics.appliance_status("favrskov", "test")
    waiting = configs[f"homeassistant/sensor/{node}/waiting_borger/config"]
    assert waiting["state_topic"] == topics.queue("borger")
    assert waiting["value_template"] == "{{ value_json.waiting }}"
    assert waiting["availability"][0]["topic"] == topics.appliance_status("favrskov", "test")


ALWAYS_OPEN_HA = "[homeassistant]\ndiscovery = true\n"

# From Home Assistant's MQTT documentation (integrations/mqtt, binary_sensor.mqtt,
# sensor.mqtt): the discovery topic, and the options these entities use.
DISCOVERY_TOPIC = re.compile(
    r"^homeassistant/(binary_sensor|sensor)/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/config$"
)
COMMON = {"name", "unique_id", "state_topic", "device", "origin", "availability",
          "value_template", "json_attributes_topic", "entity_category", "icon"}  # fmt: skip
ALLOWED = {
    "binary_sensor": COMMON | {"payload_on", "payload_off", "device_class"},
    "sensor": COMMON | {"device_class", "state_class", "unit_of_measurement", "options"},
}
DEVICE_CLASSES: dict[str, set[str | None]] = {
    "binary_sensor": {"connectivity", "problem", "running"},
    "sensor": {"enum", "duration", None},
}
DEVICE_KEYS = {"identifiers", "connections", "name", "manufacturer", "model", "sw_version",
               "hw_version", "configuration_url", "suggested_area", "via_device"}  # fmt: skip


def check_discovery(topic: str, payload: dict[str, Any]) -> None:
    match = DISCOVERY_TOPIC.match(topic)
    assert match, topic
    component = match.group(1)
    assert set(payload) <= ALLOWED[component], set(payload) - ALLOWED[component]
    assert payload["state_topic"]
    assert payload["unique_id"]
    assert payload.get("device_class") in DEVICE_CLASSES[component] | {None}
    device = payload["device"]
    assert set(device) <= DEVICE_KEYS, device
    assert device["identifiers"]
    assert payload["origin"]["name"] == "hotline"  # origin: `name` is required
    for availability in payload.get("availability", []):
        assert set(availability) <= {"topic", "payload_available", "payload_not_available",
                                     "value_template"}  # fmt: skip
        assert availability["topic"]
    if payload.get("device_class") == "enum":
        assert payload["options"]
        assert "state_class" not in payload
    if payload.get("state_class") == "measurement":
        assert payload.get("device_class") != "enum"
    assert payload.get("entity_category") in (None, "config", "diagnostic")
    if component == "binary_sensor":
        assert {"payload_on", "payload_off"} <= set(payload)
