"""mqtts:// with a CA file, a user name and a password file, against a real Mosquitto."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.contract import Topics
from appliance.mqtt import Backoff
from appliance.service import Appliance
from tests.conftest import board_until, link_status_until, make_config, running, until
from tests.support.mosquitto import Mosquitto
from tests.support.tls import make_certificates, password_file


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, Path]]:
    certs = make_certificates(tmp_path / "pki")
    passwords = password_file(tmp_path / "passwd", "favrskov", "s3cret-favrskov")
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


def secret(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mqtt.password"
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


async def test_tls_with_password_file_connects(
    tls_broker: tuple[Mosquitto, Path], tmp_path: Path, topics: Topics
) -> None:
    broker, ca = tls_broker
    config = make_config(
        f"mqtts://127.0.0.1:{broker.port}",
        topics,
        ca_file=str(ca),
        username="favrskov",
        password_file=secret(tmp_path, "s3cret-favrskov"),
    )
    async with running(Appliance(config)) as app:
        await board_until(app, lambda b: b["feed"] != "disconnected")


async def test_wrong_password_is_explained_and_never_logged(
    tls_broker: tuple[Mosquitto, Path],
    tmp_path: Path,
    topics: Topics,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker, ca = tls_broker
    config = make_config(
        f"mqtts://127.0.0.1:{broker.port}",
        topics,
        ca_file=str(ca),
        username="favrskov",
        password_file=secret(tmp_path, "wrong-guess"),
    )
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
    config = make_config(
        f"mqtts://127.0.0.1:{broker.port}",
        topics,
        ca_file=str(stranger.ca),
        username="favrskov",
        password_file=secret(tmp_path, "s3cret-favrskov"),
    )
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
