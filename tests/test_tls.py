"""mqtts:// with a CA file, a user name and a password file, against a real Mosquitto."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest

from appliance.core.config import Config
from appliance.core.contract import Topics
from appliance.drivers.mqtt import MqttLink
from appliance.programs.service import Appliance
from appliance.runtime.backoff import Backoff
from tests.conftest import board_until, link_status_until, make_config, running, until
from tests.support.mosquitto import Mosquitto
from tests.support.tasks import beside
from tests.support.tls import make_certificates, password_file

SITE_SECRET = "s3cret-favrskov"  # what the broker's password file holds for the site


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, Path]]:
    certs = make_certificates(tmp_path / "pki")
    passwords = password_file(tmp_path / "passwd", "favrskov", SITE_SECRET)
    broker = Mosquitto(
        tmp_path / "broker",
        listener_options=(
            f"cafile {certs.ca}\ncertfile {certs.cert}\nkeyfile {certs.key}\n"
            f"password_file {passwords}"
        ),
        anonymous=False,
    )
    broker.start()
    yield broker, certs.ca
    broker.stop()


def favrskov_config(
    port: int, topics: Topics, ca: Path, tmp_path: Path, secret_text: str = SITE_SECRET
) -> Config:
    """The site's TLS config: mqtts, the CA to trust, its user and a password file."""
    return make_config(
        f"mqtts://127.0.0.1:{port}",
        topics,
        ca_file=str(ca),
        username="favrskov",
        password_file=secret(tmp_path, secret_text),
    )


def secret(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mqtt.password"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


async def test_tls_with_password_file_connects(
    tls_broker: tuple[Mosquitto, Path], tmp_path: Path, topics: Topics
) -> None:
    broker, ca = tls_broker
    config = favrskov_config(broker.port, topics, ca, tmp_path)
    async with running(Appliance(config)) as app:
        await board_until(app, lambda b: b["feed"] != "disconnected")


async def test_wrong_password_is_explained_and_never_logged(
    tls_broker: tuple[Mosquitto, Path],
    tmp_path: Path,
    topics: Topics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, ca = tls_broker
    config = favrskov_config(broker.port, topics, ca, tmp_path, secret_text="wrong-guess")
    async with running(Appliance(config)) as app:
        await link_status_until(app, lambda status: "login" in status)
        report = app.health()
        assert not report.healthy
        assert "refused the login" in report.reasons[0]
    assert "wrong-guess" not in caplog.text


# paho leaves the socket of a failed TLS handshake to the garbage collector; it is
# collected (hence the warning), so retries do not leak descriptors.
@pytest.mark.filterwarnings("ignore:unclosed <ssl.SSLSocket:ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_untrusted_broker_certificate_is_explained(
    tls_broker: tuple[Mosquitto, Path], tmp_path: Path, topics: Topics
) -> None:
    broker, _ = tls_broker
    stranger = make_certificates(tmp_path / "other", name="stranger")
    config = favrskov_config(broker.port, topics, stranger.ca, tmp_path)
    async with running(Appliance(config)) as app:
        await link_status_until(app, lambda status: "not trusted" in status)
        assert app.hub.board.value.connected is False


async def test_an_expired_broker_certificate_is_explained(tmp_path: Path, topics: Topics) -> None:
    certs = make_certificates(tmp_path / "pki", server_days=-1)
    broker = Mosquitto(
        tmp_path / "broker",
        listener_options=f"cafile {certs.ca}\ncertfile {certs.cert}\nkeyfile {certs.key}",
    )
    broker.start()
    try:
        config = make_config(f"mqtts://127.0.0.1:{broker.port}", topics, ca_file=str(certs.ca))
        async with running(Appliance(config)) as app:
            await link_status_until(app, lambda status: "expired" in status)
            board = await board_until(app, lambda b: b["feed"] == "disconnected")
            assert all(queue["waiting"] is None for queue in board["queues"])
    finally:
        broker.stop()


async def test_a_broker_that_never_answers_is_explained_and_retried(topics: Topics) -> None:
    attempts: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts.append(writer)  # accepts the TCP connection, never says a word

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = make_config(f"mqtt://127.0.0.1:{port}", topics, connect_timeout_s=0.5)
    app = Appliance(config)
    app.link._backoff = Backoff(first_s=0.1, cap_s=0.2)
    try:
        async with running(app):
            status = await link_status_until(app, lambda s: "did not answer" in s)
            assert status == "broker accepted the connection but did not answer in time"
            await until(lambda: len(attempts) >= 3, what="retries")
            await board_until(app, lambda b: b["feed"] == "disconnected")
            health = app.health()
            assert not health.healthy
            assert health.reasons == [f"broker: {status}"]
    finally:
        for writer in attempts:
            writer.close()
        server.close()
        await server.wait_closed()


def publish_in_a_thread(port: int, tls_ca: Path | None, bodies: list[bytes], topic: str,
                        done: threading.Event) -> threading.Thread:  # fmt: skip
    """paho on its own thread: the test's event loop may block meanwhile."""

    def publish() -> None:
        client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        if tls_ca is not None:
            client.tls_set(ca_certs=str(tls_ca))
            client.username_pw_set("favrskov", SITE_SECRET)
        client.connect("127.0.0.1", port)
        client.loop_start()
        for info in [client.publish(topic, body, qos=0) for body in bodies]:
            info.wait_for_publish(timeout=30)
        done.set()
        client.disconnect()
        client.loop_stop()

    thread = threading.Thread(target=publish)
    thread.start()
    return thread


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_a_flood_arrives_whole_and_in_order(
    tls: bool, tls_broker: tuple[Mosquitto, Path], broker: Mosquitto, tmp_path: Path,
    topics: Topics,
) -> None:  # fmt: skip
    """Packets are read ahead in 64 KiB chunks: ones split across chunks, bigger than a
    chunk, or many in one each arrive once and in order, and none waits in the buffer."""
    if tls:
        target, ca = tls_broker
        config = favrskov_config(target.port, topics, ca, tmp_path)
    else:
        target, config = broker, make_config(broker.url, topics)
    sizes = [10, 3000, 70_000, 200, 131_072, *range(1, 300)]
    bodies = [number.to_bytes(4, "big") + bytes(size) for number, size in enumerate(sizes)]
    got: list[bytes] = []
    all_sent, all_got = threading.Event(), asyncio.Event()

    def collect(topic: str, payload: bytes) -> None:
        if not got:  # hold the loop until the broker has it all: packets pile up unread
            assert all_sent.wait(timeout=30)
        got.append(payload)
        if len(got) == len(sizes):
            all_got.set()

    link = MqttLink(config.mqtt, client_id="flood-test", subscriptions=[f"{topics.prefix}/flood"],
                    on_message=collect)  # fmt: skip
    async with beside(link.run(), "link"):
        async with asyncio.timeout(10):
            while link.status.value:  # "" once connected and subscribed
                await link.status.wait_newer(link.status.version)
        publisher = publish_in_a_thread(
            target.port, ca if tls else None, bodies, f"{topics.prefix}/flood", all_sent
        )
        try:
            async with asyncio.timeout(30):
                await all_got.wait()
        finally:
            publisher.join(timeout=30)
    assert [int.from_bytes(body[:4], "big") for body in got] == list(range(len(sizes)))
    assert [len(body) - 4 for body in got] == sizes
