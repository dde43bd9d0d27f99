"""Home Assistant MQTT discovery: each appliance as a device, its entities on the topics
the appliance and the phone system already publish (nothing new is sent for them).

Following https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery: a retained
config on `<prefix>/<component>/<node_id>/<object_id>/config` with a `unique_id`, the
`device` it belongs to (by `identifiers`), `origin`, and `availability` on the
appliance's own `online`/`offline` status (its last will).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from appliance.core.contract import Topics

_UNSAFE = re.compile(r"[^a-zA-Z0-9_-]")  # node and object ids: HA's topic rules


@dataclass(frozen=True, slots=True)
class Appliance:
    site: str
    appliance: str
    site_name: str
    version: str
    web_url: str | None = None  # the device page's link in Home Assistant


def node_id(device: Appliance) -> str:
    return _UNSAFE.sub("_", f"hotline_{device.site}_{device.appliance}")


def _device(device: Appliance) -> dict[str, object]:
    info: dict[str, object] = {
        "identifiers": [node_id(device)],
        "name": f"Hotline {device.site_name or device.site} ({device.appliance})",
        "manufacturer": "hotline",
        "model": "call-queue appliance",
        "sw_version": device.version,
    }
    if device.web_url:
        info["configuration_url"] = device.web_url
    return info


def discovery_messages(
    device: Appliance, topics: Topics, queues: dict[str, str], prefix: str = "homeassistant"
) -> list[tuple[str, bytes]]:
    """Every retained config for `device`: online, health, last message age, and the
    callers waiting in each of `queues` (id → name)."""
    node = node_id(device)
    status = topics.appliance_status(device.site, device.appliance)
    health = topics.appliance_health(device.site, device.appliance)
    common = {
        "device": _device(device),
        "origin": {"name": "hotline", "sw_version": device.version},
    }
    available = {
        "availability": [
            {"topic": status, "payload_available": "online", "payload_not_available": "offline"}
        ]
    }
    entities: list[tuple[str, str, dict[str, object]]] = [
        ("binary_sensor", "online", {
            "name": "Online",
            "state_topic": status,
            "payload_on": "online",
            "payload_off": "offline",
            "device_class": "connectivity",
        }),
        ("sensor", "health", {
            "name": "Health",
            "state_topic": health,
            "value_template": "{{ 'healthy' if value_json.healthy else 'unhealthy' }}",
            "device_class": "enum",
            "options": ["healthy", "unhealthy"],
            "json_attributes_topic": health,
            "entity_category": "diagnostic",
            **available,
        }),
        ("sensor", "last_message_age", {
            "name": "Last message age",
            "state_topic": health,
            "value_template": "{{ value_json.last_message_age_s }}",
            "device_class": "duration",
            "unit_of_measurement": "s",
            "state_class": "measurement",
            "entity_category": "diagnostic",
            **available,
        }),
    ]  # fmt: skip
    for queue, name in sorted(queues.items()):
        entities.append(("sensor", _UNSAFE.sub("_", f"waiting_{queue}"), {
            "name": f"Waiting {name or queue}",
            "state_topic": topics.queue(queue),
            "value_template": "{{ value_json.waiting }}",
            "unit_of_measurement": "calls",
            "state_class": "measurement",
            "icon": "mdi:phone-in-talk",
            **available,
        }))  # fmt: skip
    messages = []
    for component, object_id, config in entities:
        payload = {"unique_id": f"{node}_{object_id}", **config, **common}
        topic = f"{prefix}/{component}/{node}/{object_id}/config"
        messages.append((topic, json.dumps(payload, ensure_ascii=False).encode()))
    return messages
