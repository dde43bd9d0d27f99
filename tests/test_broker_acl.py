"""The central broker's shipped config and ACL, on a real Mosquitto: each site only its own."""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest
from gpiozero.pins.mock import MockFactory

from appliance.core.contract import Topics
from appliance.core.desk import DeskMessage
from appliance.drivers.store import Store
from appliance.programs.service import Appliance
from tests.conftest import make_config, running, until
from tests.support import payloads
from tests.support.mosquitto import Mosquitto
from tests.support.tls import make_certificates, password_file
from tests.test_desks import desk_config, fake_oled, outcomes, press

FIRMWARE = Path(__file__).parent.parent / "firmware_config"
# Lines of the shipped config that the test's own Mosquitto writes itself.
SET_BY_THE_TEST = (
    r"(listener|persistence|persistence_location|allow_anonymous|per_listener_settings)\b"
)


@pytest.fixture
def shared_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, ssl.SSLContext]]:
    """The shipped broker config with TLS; users favrskov, aarhus, bridge (pw-<user>)."""
    certs = make_certificates(tmp_path / "pki")
    passwords = tmp_path / "passwd"
    password_file(passwords, "favrskov", "pw-favrskov")
    for user in ("aarhus", "bridge", "supervisor"):
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwords), user, f"pw-{user}"],
            check=True,
            capture_output=True,
        )
    acl = tmp_path / "hotline.acl"
    acl.write_text((FIRMWARE / "mosquitto-broker.acl").read_text())
    shipped = (FIRMWARE / "mosquitto-broker.conf").read_text()
    # The shipped file, with this test's port, certificates and paths.
    options = "\n".join(
        line
        for line in shipped.splitlines()
        if line and not line.startswith("#") and not re.match(SET_BY_THE_TEST, line)
    )
    options = (
        options.replace("/etc/mosquitto/certs/ca.crt", str(certs.ca))
        .replace("/etc/mosquitto/certs/broker.crt", str(certs.cert))
        .replace("/etc/mosquitto/certs/broker.key", str(certs.key))
        .replace("/etc/mosquitto/passwd", str(passwords))
        .replace("/etc/mosquitto/hotline.acl", str(acl))
    )
    broker = Mosquitto(tmp_path / "broker", listener_options=options, anonymous=False)
    broker.start()
    context = ssl.create_default_context(cafile=str(certs.ca))
    (tmp_path / "ca.crt").write_bytes(certs.ca.read_bytes())
    yield broker, context
    broker.stop()


def login(broker: Mosquitto, tls: ssl.SSLContext) -> Callable[[str], aiomqtt.Client]:
    """A client for each of the broker's users (password pw-<user>)."""

    def client(user: str) -> aiomqtt.Client:
        return aiomqtt.Client(
            "127.0.0.1", broker.port, username=user, password=f"pw-{user}", tls_context=tls
        )

    return client


async def test_a_site_may_only_ask_for_its_own_agents(
    shared_broker: tuple[Mosquitto, ssl.SSLContext],
) -> None:
    client = login(*shared_broker)

    async with client("bridge") as bridge, client("favrskov") as favrskov:
        await bridge.subscribe("hotline/v1/sites/#", qos=1)
        for topic in (
            "hotline/v1/sites/aarhus/agents/a2102/set",  # another site's agent
            "hotline/v1/queues/borger",  # the phone system's state
            "hotline/v1/sites/favrskov/agents/a2101/set",
        ):  # its own: allowed
            await favrskov.publish(topic, b"{}", qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(bridge.messages))
        assert message.topic.value == "hotline/v1/sites/favrskov/agents/a2101/set"
        with pytest.raises(TimeoutError):  # nothing else came through
            async with asyncio.timeout(0.5):
                await anext(aiter(bridge.messages))


async def test_only_the_supervisors_write_the_rota_and_every_site_reads_it(
    shared_broker: tuple[Mosquitto, ssl.SSLContext],
) -> None:
    client = login(*shared_broker)

    topic = "hotline/v1/rota/2026-11-29"
    async with client("favrskov") as favrskov, client("supervisor") as supervisor:
        await favrskov.subscribe("hotline/v1/rota/#", qos=1)
        await favrskov.publish(topic, b'{"from": "a site"}', qos=1)  # refused by the ACL
        await supervisor.publish(topic, b'{"from": "the supervisors"}', qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(favrskov.messages))
        assert message.payload == b'{"from": "the supervisors"}'
        with pytest.raises(TimeoutError):  # the site's own attempt never came through
            async with asyncio.timeout(0.5):
                await anext(aiter(favrskov.messages))


async def test_a_desk_shows_a_request_the_broker_refused(
    shared_broker: tuple[Mosquitto, ssl.SSLContext], tmp_path: Path, pins: MockFactory
) -> None:
    """A misconfigured appliance (broker user aarhus, site favrskov) learns it at once."""
    broker, tls = shared_broker
    password = tmp_path / "mqtt.password"
    password.write_text("pw-aarhus\n")
    config = make_config(
        f"mqtts://127.0.0.1:{broker.port}",
        Topics(),
        extra=desk_config('agent = "a2101"'),
        ca_file=str(tmp_path / "ca.crt"),
        username="aarhus",
        password_file=str(password),
    )
    bridge = aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username="bridge",
        password="pw-bridge",
        tls_context=tls,
    )
    async with bridge:
        await bridge.subscribe("hotline/v1/sites/#", qos=1)
        await bridge.publish(Topics().agent("a2101"), payloads.agent(), qos=1, retain=True)
        async with running(Appliance(config, pin_factory=pins, oled_factory=fake_oled)) as app:
            await until(lambda: app.pins["desk-1"].light == "green", what="the agent's state")
            press(pins)
            await until(lambda: outcomes(app) == ["refused"], what="the refusal", timeout=5)
            (row,) = Store(app.config.history.database).presses()
            assert row["error"] == "Afvist af serveren (Not authorized)"
            await until(
                lambda: (
                    app.desks.status.value["desk-1"].message
                    == DeskMessage("refused_by_broker", "Not authorized")
                ),
                what="the desk to say why",
            )
        with pytest.raises(TimeoutError):  # and the request never reached the phone system
            async with asyncio.timeout(0.3):
                await anext(aiter(bridge.messages))
