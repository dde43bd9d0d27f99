"""The MQTT adapter's changes to the libraries under it behave as the originals."""

from __future__ import annotations

import subprocess
import sys

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.drivers._mqtt_internals import (
    UnsupportedLibraryError,
    _LeanProperties,
    check_versions,
)


def test_lean_properties_decode_as_paho_does_and_keep_to_themselves() -> None:
    sent = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    sent.MessageExpiryInterval = 60
    sent.ContentType = "application/json"
    sent.UserProperty = [("site", "favrskov")]
    packed = sent.pack()  # type: ignore[no-untyped-call]
    for _ in range(2):  # the first builds the tables, the second copies them
        paho = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        lean = _LeanProperties(PacketTypes.PUBLISH)
        paho.unpack(packed)  # type: ignore[no-untyped-call]
        lean.unpack(packed)  # type: ignore[no-untyped-call]
        assert lean.json() == paho.json()  # type: ignore[no-untyped-call]
        assert lean.MessageExpiryInterval == 60
    empty = _LeanProperties(PacketTypes.PUBLISH)
    assert not hasattr(empty, "MessageExpiryInterval")  # nothing carried over
    assert empty.isEmpty()  # type: ignore[no-untyped-call]
    connack = _LeanProperties(PacketTypes.CONNACK)
    connack.SessionExpiryInterval = 10
    assert _LeanProperties(PacketTypes.CONNACK).isEmpty()  # type: ignore[no-untyped-call]


def test_the_hooks_are_written_for_aiomqtt_2_and_paho_2() -> None:
    check_versions()  # what is installed here
    versions = {"aiomqtt": "3.0.0a1", "paho-mqtt": "2.1.0"}
    with pytest.raises(UnsupportedLibraryError, match=r"aiomqtt 3\.0\.0a1 .* aiomqtt 2\.x"):
        check_versions(versions.__getitem__)
    with pytest.raises(UnsupportedLibraryError, match=r"paho-mqtt 1\.6\.1"):
        check_versions({"aiomqtt": "2.4.0", "paho-mqtt": "1.6.1"}.__getitem__)


def test_importing_the_adapter_changes_nothing_until_it_starts() -> None:
    script = """
import paho.mqtt._packet as packet
from paho.mqtt.properties import Properties
import appliance.drivers.mqtt
from appliance.drivers import _mqtt_internals
assert packet.Properties is Properties, "hooked on import"
_mqtt_internals.install()
assert packet.Properties is _mqtt_internals._LeanProperties
"""
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
