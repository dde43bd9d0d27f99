"""The one MQTT adapter: every byte to or from the broker passes through here.

`MqttLink.run()` keeps a connection up for as long as it runs: it connects, announces
availability (retained `online`, `offline` as last will and on clean shutdown),
subscribes, hands each message to `on_message`, and on any failure waits a jittered,
capped, exponentially growing delay before it tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable, Sequence
from typing import NoReturn

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.core.config import MqttConfig, read_secret
from appliance.core.errors import NotConnectedError, PublishRefusedError
from appliance.drivers import _mqtt_internals as internals
from appliance.drivers._mqtt_internals import HookedClient, MessageHandler
from appliance.runtime.backoff import Backoff
from appliance.runtime.latest import Latest

log = logging.getLogger(__name__)

__all__ = ["MessageHandler", "MqttLink", "describe_error"]

ConnectionHandler = Callable[[bool, str], None]


def _honour_cancellation() -> None:
    """Re-raise a cancellation that Python 3.11's `wait_for` (used inside aiomqtt) swallowed.

    When a call completes at the moment its task is cancelled, 3.11's `wait_for` returns
    the result and drops the CancelledError; the task would then run on, never to stop.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails: paho leaves it open (a leaked socket per
    retry against a broker with an expired or untrusted certificate)."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _tls_context(config: MqttConfig) -> ssl.SSLContext | None:
    if not config.tls:
        return None
    context = ssl.create_default_context(cafile=config.ca_file or None)
    context.sslsocket_class = _ClosingSSLSocket
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file or None)
    return context


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what caused it, outermost first (bounded: chains can be cyclic)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 16:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_error(error: BaseException) -> str:
    """A one-line reason a technician can act on."""
    chain = _causes(error)
    for cause in chain:
        if isinstance(cause, aiomqtt.MqttCodeError) and cause.rc in (4, 5, 134, 135):
            return f"broker refused the login (wrong username or password?): {cause}"
        if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_code == 10:
            return "broker certificate has expired (or this appliance's clock is wrong)"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"broker certificate not trusted: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or cause}"
        if isinstance(cause, TimeoutError) and not cause.args:  # asyncio's: no MQTT answer
            return "broker accepted the connection but did not answer in time"
        if isinstance(cause, TimeoutError):  # the socket's: no TCP answer
            return f"broker unreachable: {cause}"
    meaningful = [cause for cause in chain if not isinstance(cause, asyncio.CancelledError)]
    root = meaningful[-1] if meaningful else error
    return str(root) or type(root).__name__


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        *,
        client_id: str,
        subscriptions: Sequence[str],
        on_message: MessageHandler,
        on_retained: MessageHandler | None = None,
        on_connection: ConnectionHandler | None = None,
        availability_topic: str | None = None,
        is_available: Callable[[], bool] = lambda: True,
        backoff: Backoff | None = None,
        session_expiry_s: int = 0,
    ) -> None:
        self._config = config
        self._client_id = client_id
        self._subscriptions = list(subscriptions)
        self._on_message = on_message
        self._on_retained = on_retained  # None: retained messages go to on_message too
        self._on_connection = on_connection or (lambda _up, _why: None)
        self._availability = availability_topic
        self._is_available = is_available  # a bridge is only "online" while its PBX is
        self._backoff = backoff or Backoff()
        self._timeout = config.connect_timeout_s
        # > 0: the broker keeps our subscriptions and queued QoS 1 messages while we are
        # away (for the phone-system side, so requests made meanwhile are not lost).
        self._session_expiry = session_expiry_s
        self._client: HookedClient | None = None
        self._ready = asyncio.Event()
        self.last_error = "not connected yet"
        # "" while connected, else why not: for health, and for whoever must wait on it.
        self.status: Latest[str] = Latest(self.last_error)

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def subscribed(self) -> bool:
        """Connected, and the broker has taken the subscriptions (its retained messages
        for them are on their way, ahead of anything published from now on)."""
        return self._ready.is_set()

    @property
    def protocol(self) -> aiomqtt.ProtocolVersion:
        if self._config.protocol == "5":
            return aiomqtt.ProtocolVersion.V5
        return aiomqtt.ProtocolVersion.V311

    async def wait_connected(self) -> None:
        await self._ready.wait()

    def _make_client(self) -> HookedClient:
        will = None
        if self._availability:
            will = aiomqtt.Will(self._availability, b"offline", qos=1, retain=True)
        persistent: dict[str, object] = {}
        if self._session_expiry and self.protocol == aiomqtt.ProtocolVersion.V5:
            connect = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            connect.SessionExpiryInterval = self._session_expiry
            persistent = {"clean_start": False, "properties": connect}
        elif self._session_expiry:
            persistent = {"clean_session": False}
        return HookedClient(
            self._config.host,
            self._config.port,
            username=self._config.username or None,
            password=read_secret(self._config.password_file),
            identifier=self._client_id,
            protocol=self.protocol,
            will=will,
            keepalive=self._config.keepalive_s,
            timeout=self._timeout,
            tls_context=_tls_context(self._config),
            handler=self._on_message,
            retained_handler=self._on_retained,
            **persistent,
        )

    async def run(self) -> NoReturn:
        internals.install()  # the hooks into aiomqtt and paho, checked against their versions
        task = asyncio.current_task()
        while True:
            try:
                await self._session()
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as error:
                if task is not None and task.cancelling():
                    # A failed disconnect while shutting down must not swallow the shutdown.
                    raise asyncio.CancelledError from error
                self._went_down(describe_error(error))
            delay = self._backoff.next_delay()
            log.info("reconnecting to %s in %.1f s", self._config.host, delay)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        async with self._make_client() as client:
            try:
                _honour_cancellation()  # connecting ends in wait_for too
                if self._availability:
                    status = b"online" if self._is_available() else b"offline"
                    await client.publish_acknowledged(self._availability, status, 1, True, None)
                self._client = client
                self._on_connection(True, "connected")
                if self._subscriptions:
                    await client.subscribe([(topic, 1) for topic in self._subscriptions])
                _honour_cancellation()
                log.info("connected to %s:%d", self._config.host, self._config.port)
                self._backoff.reset()
                self.last_error = ""
                self.status.publish("")
                self._ready.set()
                async for _ in client.messages:  # returns when the connection ends
                    pass  # messages were handled as they arrived (HookedClient._on_message)
            except asyncio.CancelledError:
                await self._say_goodbye(client)
                client.timeout = 2.0  # bounds the wait for the broker's goodbye on exit
                raise
            finally:
                self._client = None
                self._ready.clear()
        raise aiomqtt.MqttError("connection closed")

    async def _say_goodbye(self, client: HookedClient) -> None:
        """On a clean shutdown the last will is not sent: say `offline` ourselves."""
        if not self._availability:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(2):
                await client.publish_acknowledged(self._availability, b"offline", 1, True, None)

    def _went_down(self, reason: str) -> None:
        if reason != self.last_error:  # one line per new reason, not one per retry
            log.warning("broker connection: %s", reason)
        self.last_error = reason
        self.status.publish(reason)
        self._on_connection(False, reason)

    async def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        expiry_s: int | None = None,
    ) -> None:
        """Publish now, or raise NotConnectedError so the caller can keep the message.

        PublishRefusedError: the broker received the message and refused it (MQTT 5 only;
        with 3.1.1 a refused message is indistinguishable from a delivered one).
        """
        client = self._client
        if client is None:
            raise NotConnectedError(self.last_error)
        properties = None
        if expiry_s is not None and self.protocol == aiomqtt.ProtocolVersion.V5:
            properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
            properties.MessageExpiryInterval = max(1, expiry_s)
        try:
            async with asyncio.timeout(self._timeout):
                reason = await client.publish_acknowledged(topic, payload, qos, retain, properties)
        except (aiomqtt.MqttError, TimeoutError) as error:
            raise NotConnectedError(describe_error(error)) from error
        _honour_cancellation()
        if reason is not None and reason.is_failure:
            raise PublishRefusedError(topic, str(reason))
