"""The MQTT adapter's changes to the libraries under it behave as the originals."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from appliance.drivers.mqtt import _LeanProperties


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
