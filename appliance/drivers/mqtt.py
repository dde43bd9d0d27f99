"""The one MQTT adapter: every byte to or from the broker passes through here.

`MqttLink.run()` keeps a connection up for as long as it runs: it connects, announces
availability (retained `online`, `offline` as last will and on clean shutdown),
subscribes, hands each message to `on_message`, and on any failure waits a jittered,
capped, exponentially growing delay before it tries again.

With several brokers (`[mqtt] url` a list) a failure moves on to the next at once, and
the delay comes after a whole round has failed. On a stand-in broker the first is tried
every `failback_every_s`; once it answers (and holds `home_check`, a retained topic: a
broker that restarted empty holds nothing until its bridge has brought the state back),
the link goes back to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from typing import NoReturn

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.core.config import MqttConfig, broker_name, read_secret
from appliance.core.errors import NotConnectedError, PublishRefusedError
from appliance.drivers import _mqtt_internals as internals
from appliance.drivers._mqtt_internals import HookedClient, MessageHandler
from appliance.runtime.backoff import Backoff
from appliance.runtime.latest import Latest

log = logging.getLogger(__name__)

__all__ = ["MessageHandler", "MqttLink", "describe_error", "login"]

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


def protocol_of(config: MqttConfig) -> aiomqtt.ProtocolVersion:
    return aiomqtt.ProtocolVersion.V5 if config.protocol == "5" else aiomqtt.ProtocolVersion.V311


@contextlib.asynccontextmanager
async def login(config: MqttConfig, client_id: str) -> AsyncIterator[aiomqtt.Client]:
    """One try at `config`'s first broker with its login: no will, no retries (a probe)."""
    async with aiomqtt.Client(
        config.host,
        config.port,
        username=config.username or None,
        password=read_secret(config.password_file),
        identifier=client_id,
        protocol=protocol_of(config),
        timeout=config.connect_timeout_s,
        tls_context=_tls_context(config),
    ) as client:
        yield client
    _honour_cancellation()


class _HomeIsBack(Exception):  # noqa: N818 - not an error: the first broker answers again
    """Ends a session on a stand-in broker."""


async def _drain(client: HookedClient) -> None:
    async for _ in client.messages:  # returns when the connection ends
        pass  # messages were handled as they arrived (HookedClient._on_message)


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
        home_check: str | None = None,
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
        self._brokers = config.urls
        self._on = 0  # the broker tried or connected to now, by its place in the list
        self._reasons: dict[int, str] = {}  # each broker's last reason: logged once each
        self._home_check = home_check
        self._ready = asyncio.Event()
        self.last_error = "not connected yet"
        # "" while connected, else why not: for health, and for whoever must wait on it.
        self.status: Latest[str] = Latest(self.last_error)

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def broker(self) -> str:
        """The broker connected to (or being tried), as said on /healthz."""
        return broker_name(self._brokers[self._on])

    @property
    def on_stand_in(self) -> bool:
        return self._on > 0

    @property
    def subscribed(self) -> bool:
        """Connected, and the broker has taken the subscriptions (its retained messages
        for them are on their way, ahead of anything published from now on)."""
        return self._ready.is_set()

    @property
    def protocol(self) -> aiomqtt.ProtocolVersion:
        return protocol_of(self._config)

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
        broker = self._config.on(self._brokers[self._on])
        return HookedClient(
            broker.host,
            broker.port,
            username=self._config.username or None,
            password=read_secret(self._config.password_file),
            identifier=self._client_id,
            protocol=self.protocol,
            will=will,
            keepalive=self._config.keepalive_s,
            timeout=self._timeout,
            tls_context=_tls_context(broker),
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
            except _HomeIsBack:
                home = broker_name(self._brokers[0])
                log.info("%s answers again: going back to it", home)
                self._on = 0
                self.last_error = f"going back to {home}"  # for whoever publishes meanwhile
                self.status.publish(self.last_error)
                continue
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as error:
                if task is not None and task.cancelling():
                    # A failed disconnect while shutting down must not swallow the shutdown.
                    raise asyncio.CancelledError from error
                why = describe_error(error)
                self._went_down(f"{self.broker}: {why}" if len(self._brokers) > 1 else why)
            self._on = (self._on + 1) % len(self._brokers)
            if self._on > 0:
                continue  # the next broker at once; the delay is for a whole round
            delay = self._backoff.next_delay()
            log.info("reconnecting to %s in %.1f s", self.broker, delay)
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
                if self.on_stand_in:
                    log.warning("connected to %s, standing in for %s", self.broker,
                                broker_name(self._brokers[0]))  # fmt: skip
                else:
                    log.info("connected to %s", self.broker)
                self._backoff.reset()
                self.last_error = ""
                self.status.publish("")
                self._ready.set()
                await self._until_closed_or_home(client)
            except asyncio.CancelledError:
                await self._say_goodbye(client)
                client.timeout = 2.0  # bounds the wait for the broker's goodbye on exit
                raise
            finally:
                self._client = None
                self._ready.clear()
        raise aiomqtt.MqttError("connection closed")

    async def _until_closed_or_home(self, client: HookedClient) -> None:
        """Until the connection ends; on a stand-in, or until the first broker answers."""
        if not self.on_stand_in:
            await _drain(client)
            return
        draining = asyncio.ensure_future(_drain(client))
        probing = asyncio.ensure_future(self._home_answers())
        try:
            await asyncio.wait({draining, probing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for part in (draining, probing):
                part.cancel()
            await asyncio.gather(draining, probing, return_exceptions=True)
        if probing.done() and not probing.cancelled() and probing.exception() is None:
            # Left without a goodbye: `offline` here would reach the first broker too
            # where the brokers are bridged, after this link's `online` there. `_on` is
            # home already: a failing disconnect from here still goes back.
            self._on = 0
            raise _HomeIsBack
        if not draining.cancelled():
            draining.result()  # how the connection ended, if it raised

    async def _home_answers(self) -> None:
        """Returns once the first broker takes a login and holds the home check's retained
        message (tried every failback_every_s)."""
        home = self._config.on(self._brokers[0])
        while True:
            await asyncio.sleep(self._config.failback_every_s)
            try:
                whole = await self._home_is_whole(home)
            except (aiomqtt.MqttError, OSError, ssl.SSLError) as error:
                _honour_cancellation()  # 3.11's wait_for may have swallowed ours
                log.debug("%s still away: %s", broker_name(home.urls[0]), describe_error(error))
                continue
            except Exception as error:  # noqa: BLE001 - the probe must not end a session
                _honour_cancellation()
                log.warning("trying %s: %s", broker_name(home.urls[0]), describe_error(error))
                continue
            _honour_cancellation()
            if whole:
                return
            log.debug("%s answers but holds no %s yet", broker_name(home.urls[0]), self._home_check)

    async def _home_is_whole(self, home: MqttConfig) -> bool:
        async with login(home, f"{self._client_id}-probe") as probe:
            if self._home_check is None:
                return True
            await probe.subscribe(self._home_check, qos=1)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self._timeout, 2.0)):
                    async for message in probe.messages:  # retained ones come first
                        if message.retain and message.payload:
                            return True
            return False

    async def _say_goodbye(self, client: HookedClient) -> None:
        """On a clean shutdown the last will is not sent: say `offline` ourselves."""
        if not self._availability:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(2):
                await client.publish_acknowledged(self._availability, b"offline", 1, True, None)

    def _went_down(self, reason: str) -> None:
        if reason != self._reasons.get(self._on):  # one line per new reason, not per retry
            log.warning("broker connection: %s", reason)
        self._reasons[self._on] = reason
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
