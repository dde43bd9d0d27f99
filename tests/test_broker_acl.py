"""The central broker's shipped config and ACL, on a real Mosquitto: each site only its own."""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.support.mosquitto import Mosquitto
from tests.support.tls import make_certificates, password_file

FIRMWARE = Path(__file__).parent.parent / "firmware_config"
# Lines of the shipped config that the test's own Mosquitto writes itself.
SET_BY_THE_TEST = (
    r"(listener|persistence|persistence_location|allow_anonymous|per_listener_settings)\b"
)


@pytest.fixture
def shared_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, ssl.SSLContext]]:
    certs = make_certificates(tmp_path / "pki")
    passwords = tmp_path / "passwd"
    password_file(passwords, "favrskov", "pw-favrskov")
    for user in ("aarhus", "bridge"):
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
        if line
        and not line.startswith("#")
        and not re.match(
            r"(listener|persistence|persistence_location|allow_anonymous|per_listener_settings)\b",
            line,
        )
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
    yield broker, context
    broker.stop()


async def test_a_site_may_only_ask_for_its_own_agents(
    shared_broker: tuple[Mosquitto, ssl.SSLContext],
) -> None:
    broker, tls = shared_broker

    def client(user: str) -> aiomqtt.Client:
        return aiomqtt.Client(
            "127.0.0.1", broker.port, username=user, password=f"pw-{user}", tls_context=tls
        )

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
