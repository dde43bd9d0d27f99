"""Where the MQTT adapter reaches into aiomqtt's and paho's private internals: only here.

Each hook buys something measured (see each class) that neither library offers through
its public API. They were written against aiomqtt 2.x on paho-mqtt 2.x: `install()`
checks those majors, and the adapter calls it when it starts, not on import, so that
importing the adapter changes nothing in either library.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Any, ClassVar

import aiomqtt
import paho.mqtt._packet as paho_packet
import paho.mqtt.client as paho
from paho.mqtt.matcher import MQTTMatcher
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

WRITTEN_FOR = {"aiomqtt": 2, "paho-mqtt": 2}  # distribution → the major version hooked

MessageHandler = Callable[[str, bytes], None]


class UnsupportedLibraryError(RuntimeError):
    """An aiomqtt or paho-mqtt whose internals these hooks were not written for."""


def check_versions(installed: Callable[[str], str] = version) -> None:
    for distribution, major in WRITTEN_FOR.items():
        found = installed(distribution)
        if int(found.split(".")[0]) != major:
            raise UnsupportedLibraryError(
                f"{distribution} {found} is installed, but appliance/drivers/_mqtt_internals.py"
                f" hooks into {distribution} {major}.x"
            )


_installed = False


def install() -> None:
    """Check the libraries' versions and put the process-wide hook in place, once."""
    global _installed  # noqa: PLW0603 - paho decodes through one module attribute
    if _installed:
        return
    check_versions()
    # Where paho decodes received packets (the process's one MQTT client library).
    paho_packet.Properties = _LeanProperties  # type: ignore[attr-defined]
    _installed = True


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


class HookedClient(aiomqtt.Client):
    """aiomqtt's client, with two things aiomqtt 2.x does not offer.

    - The PUBACK reason code: a broker (Mosquitto 2 with MQTT 5) answers a QoS 1 publish
      its ACL denies with 0x87 "Not authorized"; paho hands the code to `on_publish`, and
      aiomqtt discards it. `publish_acknowledged` is aiomqtt's `publish` that keeps it.
    - Messages straight to the handler: aiomqtt wraps each paho message in its own
      Message (validating the topic again) and queues it for an iterator task. Here the
      handler (synchronous, non-blocking) gets topic and payload in paho's callback, on
      the event loop's thread, in order; the iterator then only waits for the end.
    """

    def __init__(
        self,
        *args: Any,
        handler: MessageHandler,
        retained_handler: MessageHandler | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._client._on_message_filtered = _NoFilteredCallbacks()  # type: ignore[no-untyped-call]
        self._handler = handler
        self._retained_handler = retained_handler or handler
        self._acknowledgements: dict[int, ReasonCode] = {}

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        client._sock = _ReadAheadSocket(sock)  # paho offers no hook for its socket
        super()._on_socket_open(client, userdata, sock)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            # The retain flag is set only on what the broker kept from before we subscribed,
            # never on the echo of a live publish: a publisher can tell its own past state.
            handler = self._retained_handler if message.retain else self._handler
            handler(message.topic, bytes(message.payload))
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
