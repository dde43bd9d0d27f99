"""The HTTP side: API, WebSocket, health, metrics and the headers that lock the page down."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest

from appliance.core.contract import Topics
from appliance.programs.service import Appliance
from tests.conftest import board_until, make_config, running
from tests.support import payloads
from tests.support.mosquitto import Mosquitto, free_port
from tests.support.tls import make_certificates


@pytest.fixture
async def live(broker: Mosquitto, topics: Topics, publisher: aiomqtt.Client):  # type: ignore[no-untyped-def]
    await publisher.publish(topics.system_status, b"online", qos=1, retain=True)
    await publisher.publish(topics.queue("borger"), payloads.queue(waiting=3), qos=1, retain=True)
    async with running(Appliance(make_config(broker.url, topics))) as app:
        await board_until(app, lambda b: b["feed"] == "live" and b["queues"])
        async with aiohttp.ClientSession(f"http://127.0.0.1:{app.web_port}") as http:
            yield app, http


async def test_board_api_and_page(live) -> None:  # type: ignore[no-untyped-def]
    _app, http = live
    async with http.get("/api/board") as reply:
        assert reply.status == 200
        board = await reply.json()
    assert board["v"] == 1
    assert board["queues"][0]["waiting"] == 3
    async with http.get("/") as reply:
        page = await reply.text()
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        csp = reply.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "frame-ancestors 'self'" in csp
        assert "unsafe-inline" not in csp
    assert '<html lang="da"' in page
    assert "<script>" not in page
    for asset in ("app.js", "style.css"):
        async with http.get(f"/static/{asset}") as reply:
            assert reply.status == 200
    for bad in ("../web.py", "%2e%2e/web.py", "index.html"):
        async with http.get(f"/static/{bad}") as reply:
            assert reply.status == 404


async def test_websocket_sends_the_board_then_numbered_deltas_and_resyncs_on_request(
    live,
    topics: Topics,  # type: ignore[no-untyped-def]
    publisher: aiomqtt.Client,
) -> None:
    _app, http = live
    async with http.ws_connect("/ws") as socket:
        first = json.loads((await socket.receive(timeout=5)).data)
        assert first["type"] == "board"
        assert first["board"]["queues"][0]["waiting"] == 3
        number = first["n"]

        async def delta_with(part: str) -> dict[str, Any]:
            nonlocal number
            async with asyncio.timeout(5):
                while True:
                    delta = json.loads((await socket.receive()).data)
                    assert delta["type"] == "delta"
                    assert delta["n"] == number + 1  # numbered, none skipped
                    number = delta["n"]
                    if part in delta:
                        return dict(delta)

        await publisher.publish(topics.agent("a7"), payloads.agent("a7"), qos=1, retain=True)
        agent_delta = await delta_with("agents")
        assert [a["agent"] for a in agent_delta["agents"]] == ["a7"]
        # The queue's payload has no counts: made from the agents, they changed with it.
        assert [q["agents"]["available"] for q in agent_delta["queues"]] == [1]
        await publisher.publish(
            topics.queue("borger"), payloads.queue(waiting=5), qos=1, retain=True
        )
        queue_delta = await delta_with("queues")
        assert [q["waiting"] for q in queue_delta["queues"]] == [5]
        assert "agents" not in queue_delta
        # A page that missed one asks again; it gets the whole board as it stands.
        await socket.send_str("resync")
        again = json.loads((await socket.receive(timeout=5)).data)
        assert again["type"] == "board"
        assert again["n"] == number
        assert again["board"]["queues"][0]["waiting"] == 5
        assert [a["agent"] for a in again["board"]["agents"]] == ["a7"]


async def test_cross_origin_websocket_is_refused(live) -> None:  # type: ignore[no-untyped-def]
    _app, http = live
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await http.ws_connect("/ws", headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403


async def test_health_and_metrics(live) -> None:  # type: ignore[no-untyped-def]
    _app, http = live
    async with http.get("/healthz") as reply:
        assert reply.status == 200
        health = await reply.json()
    assert health["healthy"] is True
    assert health["health"]["mqtt_connected"] is True
    async with http.get("/metrics") as reply:
        text = await reply.text()
    assert "hotline_mqtt_connected 1" in text
    assert 'hotline_queue_waiting{queue="borger"} 3' in text
    assert 'hotline_messages_rejected_total{reason="malformed"} 0' in text


async def test_unhealthy_without_a_broker(topics: Topics) -> None:
    config = make_config(f"mqtt://127.0.0.1:{free_port()}", topics)
    async with running(Appliance(config)) as app, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{app.web_port}/healthz") as reply:
            assert reply.status == 503
            reasons = (await reply.json())["reasons"]
        assert reasons
        assert reasons[0].startswith("broker:")
        async with http.get(f"http://127.0.0.1:{app.web_port}/api/board") as reply:
            assert (await reply.json())["feed"] == "disconnected"


async def test_https_with_a_given_certificate(
    broker: Mosquitto, topics: Topics, tmp_path: Path
) -> None:
    certs = make_certificates(tmp_path / "pki")
    web = f'tls_cert_file = "{certs.cert}"\ntls_key_file = "{certs.key}"'
    async with running(Appliance(make_config(broker.url, topics, web=web))) as app:
        trusted = ssl.create_default_context(cafile=str(certs.ca))
        async with aiohttp.ClientSession() as http:
            url = f"https://127.0.0.1:{app.web_port}/api/board"
            async with http.get(url, ssl=trusted) as response:
                assert response.status == 200
                assert "queues" in await response.json()
            with pytest.raises(aiohttp.ClientError):  # plain http is not served
                async with http.get(f"http://127.0.0.1:{app.web_port}/api/board"):
                    pass


async def test_only_allowed_networks_see_the_boards(broker: Mosquitto, topics: Topics) -> None:
    """From this machine's LAN address the appliance is asked as a stranger would be."""
    address = _lan_address()
    if address is None:
        pytest.skip("no non-loopback address on this machine")
    stranger = ip_address(address)
    others = [n for n in ("198.51.100.0/24", "203.0.113.0/24") if stranger not in ip_network(n)]
    web = f'allow_from = ["{others[0]}"]\nlisten = "0.0.0.0:0"'
    config = make_config(broker.url, topics, web=web)
    async with running(Appliance(config)) as app, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{app.web_port}/api/board") as response:
            assert response.status == 200  # this machine (the kiosk) always may
        async with http.get(f"http://{address}:{app.web_port}/api/board") as response:
            assert response.status == 403
            assert "allow_from" in await response.text()


def _lan_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") else address
