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
import random
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import aiomqtt
import paho.mqtt._packet as paho_packet
import paho.mqtt.client as paho
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from appliance.core.config import MqttConfig, read_secret
from appliance.core.errors import NotConnectedError, PublishRefusedError
from appliance.runtime.latest import Latest

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], None]
ConnectionHandler = Callable[[bool, str], None]


@dataclass(slots=True)
class Backoff:
    """Full-jitter exponential backoff: spreads 19 appliances' reconnects after an outage."""

    first_s: float = 0.5
    cap_s: float = 30.0
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.cap_s, self.first_s * 2**self.attempt)
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0


class _LeanProperties(Properties):
    """paho's MQTT 5 properties, with their lookup tables built once instead of per packet.

    paho decodes every received PUBLISH into a new `Properties`, whose constructor builds
    three tables of property names and types and clears ~30 attributes by name, and
    `unpack` clears them again: a fifth of the appliance's CPU per message. The tables
    never change, so each packet type's freshly built, empty state is kept and copied.
    """

    _empty: ClassVar[dict[int, dict[str, Any]]] = {}

    def __init__(self, packetType: int) -> None:  # noqa: N803 - paho's name
        empty = self._empty.get(packetType)
        if empty is None:
            super().__init__(packetType)  # type: ignore[no-untyped-call]
            self._empty[packetType] = dict(self.__dict__)
        else:
            self.__dict__.update(empty)  # the tables are shared and only ever read

    def clear(self) -> None:  # unpack() clears first: ~30 hasattr calls in paho's version
        empty = self._empty.get(self.packetType)
        if empty is None:
            super().clear()  # type: ignore[no-untyped-call]
        else:
            self.__dict__.clear()
            self.__dict__.update(empty)


# Where paho decodes received packets: this process's one MQTT client library, this adapter.
paho_packet.Properties = _LeanProperties  # type: ignore[attr-defined]


class _NoFilteredCallbacks(MQTTMatcher):
    """paho's table of callbacks per topic filter, which this adapter never fills.

    paho matches every received message against it with a closure that refers to itself:
    a reference cycle per message, left to the garbage collector. Its collections then came
    every few messages, and one in a while took milliseconds out of a board update.
    """

    def iter_match(self, topic: str) -> Iterator[Any]:
        if not self._root._children:
            return iter(())
        return super().iter_match(topic)  # type: ignore[no-any-return, no-untyped-call]


class _Client(aiomqtt.Client):
    """aiomqtt's client, with two things aiomqtt 2.x does not offer.

    - The PUBACK reason code: a broker (Mosquitto 2 with MQTT 5) answers a QoS 1 publish
      its ACL denies with 0x87 "Not authorized"; paho hands the code to `on_publish`, and
      aiomqtt discards it. `publish_acknowledged` is aiomqtt's `publish` that keeps it.
    - Messages straight to the handler: aiomqtt wraps each paho message in its own
      Message (validating the topic again) and queues it for an iterator task. Here the
      handler (synchronous, non-blocking) gets topic and payload in paho's callback, on
      the event loop's thread, in order; the iterator then only waits for the end.
    """

    def __init__(self, *args: Any, handler: MessageHandler, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client._on_message_filtered = _NoFilteredCallbacks()  # type: ignore[no-untyped-call]
        self._handler = handler
        self._acknowledgements: dict[int, ReasonCode] = {}

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        client._sock = _ReadAheadSocket(sock)  # paho offers no hook for its socket
        super()._on_socket_open(client, userdata, sock)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            self._handler(message.topic, bytes(message.payload))
        except Exception:  # a bug in a handler must not cost the connection
            log.exception("message on %s not handled", message.topic)

    def _on_publish(
        self,
        client: paho.Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties,
    ) -> None:
        self._acknowledgements[mid] = reason_code
        super()._on_publish(client, userdata, mid, reason_code, properties)

    async def publish_acknowledged(
        self, topic: str, payload: bytes, qos: int, retain: bool, properties: Properties | None
    ) -> ReasonCode | None:
        """Publish and wait for the broker; the PUBACK reason (None: none came, QoS 0)."""
        info = self._client.publish(topic, payload, qos, retain, properties)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise aiomqtt.MqttCodeError(info.rc, "Could not publish message")
        if not info.is_published():
            confirmation = asyncio.Event()
            with self._pending_call(info.mid, confirmation, self._pending_publishes):
                await self._wait_for(confirmation.wait(), timeout=None)
        return self._acknowledgements.pop(info.mid, None)


def _honour_cancellation() -> None:
    """Re-raise a cancellation that Python 3.11's `wait_for` (used inside aiomqtt) swallowed.

    When a call completes at the moment its task is cancelled, 3.11's `wait_for` returns
    the result and drops the CancelledError; the task would then run on, never to stop.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class _ReadAheadSocket:
    """paho's socket, read ahead: one recv per readable event instead of four per packet.

    paho reads a packet a byte at a time for its header and then its body, each a system
    call; under a flood that was a tenth of the appliance's CPU. This takes what the
    kernel has in one call and hands it out; `pending()` tells aiomqtt's reader (which
    asks it of TLS sockets already) to go on reading packets until the buffer is empty.
    """

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buffer = b""
        self._offset = 0

    def recv(self, size: int) -> bytes:
        if self._offset >= len(self._buffer):
            self._buffer, self._offset = self._sock.recv(65536), 0  # EAGAIN raises here
        chunk = self._buffer[self._offset : self._offset + size]
        self._offset += len(chunk)
        return chunk

    def pending(self) -> int:
        inner = self._sock.pending() if hasattr(self._sock, "pending") else 0
        return len(self._buffer) - self._offset + inner

    def __getattr__(self, name: str) -> Any:  # send, fileno, close, ...: the socket's own
        return getattr(self._sock, name)


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
        self._on_connection = on_connection or (lambda _up, _why: None)
        self._availability = availability_topic
        self._is_available = is_available  # a bridge is only "online" while its PBX is
        self._backoff = backoff or Backoff()
        self._timeout = config.connect_timeout_s
        # > 0: the broker keeps our subscriptions and queued QoS 1 messages while we are
        # away (for the phone-system side, so requests made meanwhile are not lost).
        self._session_expiry = session_expiry_s
        self._client: _Client | None = None
        self._ready = asyncio.Event()
        self.last_error = "not connected yet"
        # "" while connected, else why not: for health, and for whoever must wait on it.
        self.status: Latest[str] = Latest(self.last_error)

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def protocol(self) -> aiomqtt.ProtocolVersion:
        if self._config.protocol == "5":
            return aiomqtt.ProtocolVersion.V5
        return aiomqtt.ProtocolVersion.V311

    async def wait_connected(self) -> None:
        await self._ready.wait()

    def _make_client(self) -> _Client:
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
        return _Client(
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
            **persistent,
        )

    async def run(self) -> NoReturn:
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
                    pass  # messages were handled as they arrived (_Client._on_message)
            except asyncio.CancelledError:
                await self._say_goodbye(client)
                client.timeout = 2.0  # bounds the wait for the broker's goodbye on exit
                raise
            finally:
                self._client = None
                self._ready.clear()
        raise aiomqtt.MqttError("connection closed")

    async def _say_goodbye(self, client: _Client) -> None:
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
