"""Health of the appliance, for `/healthz`, the retained health message and `/metrics`."""

from __future__ import annotations

from typing import get_args

from appliance import __version__
from appliance.core.board import feed_state, longest_wait_s, shown_queues
from appliance.core.health import HealthReport, Outputs
from appliance.core.plausible import Implausible
from appliance.features.hub import BoardHub


def health_report(
    hub: BoardHub, outputs: Outputs, started: float, mqtt_error: str, broker: tuple[str, bool]
) -> HealthReport:
    """`broker`: the broker connected to (or being tried), and whether it stands in for
    the first of `[mqtt] url` (the appliance goes back by itself: not a fault)."""
    clock = hub.clock
    now = clock.monotonic()
    board = hub.board.value
    feed = feed_state(board, now)
    reasons = []
    if feed == "disconnected":
        reasons.append(f"broker: {mqtt_error or 'disconnected'}")
    elif feed == "offline":
        reasons.append("phone system offline")
    elif feed == "stale":
        reasons.append("phone-system data is stale")
    reasons += [f"{name}: {message}" for name, (ok, message) in outputs.states.items() if not ok]
    age = None if hub.last_message is None else round(now - hub.last_message, 1)
    payload = {
        "v": 1,
        "ts": clock.now().isoformat(timespec="seconds"),
        "version": __version__,
        "uptime_s": round(now - started),
        "mqtt_connected": board.connected,
        "mqtt_error": mqtt_error or None,
        "broker": broker[0],
        "broker_stand_in": broker[1],
        "feed": feed,
        "last_message_age_s": age,
        "outputs": [
            {"name": name, "status": "ok" if ok else "error", "message": message or None}
            for name, (ok, message) in outputs.states.items()
        ],
        "received_messages": hub.received,
        "rejected_messages": sum(hub.rejected.values()),
        "rejected_by_reason": dict(hub.rejected),
        "implausible_values": dict(hub.implausible),
        "healthy": not reasons,
        "reasons": reasons,
    }
    return HealthReport(not reasons, reasons, payload)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(
    hub: BoardHub, counters: dict[str, int] | None = None, outputs: Outputs | None = None
) -> str:
    """The Prometheus text exposition format, written out: a dozen lines need no library."""
    now = hub.clock.monotonic()
    board = hub.board.value
    age = -1.0 if hub.last_message is None else now - hub.last_message
    lines = [
        "# HELP hotline_messages_received_total Contract messages accepted.",
        "# TYPE hotline_messages_received_total counter",
        f"hotline_messages_received_total {hub.received}",
        "# HELP hotline_messages_rejected_total Messages dropped, by reason.",
        "# TYPE hotline_messages_rejected_total counter",
    ]
    for reason in ("oversized", "malformed", "version", "identifier", "topic"):
        lines.append(f'hotline_messages_rejected_total{{reason="{reason}"}} {hub.rejected[reason]}')
    lines += [
        "# HELP hotline_values_implausible_total Values kept but shown as unknown, by kind.",
        "# TYPE hotline_values_implausible_total counter",
    ]
    for kind in get_args(Implausible):
        lines.append(f'hotline_values_implausible_total{{kind="{kind}"}} {hub.implausible[kind]}')
    if outputs is not None:
        lines += [
            "# HELP hotline_output_up 1 while an output (sign, OLED, desk GPIO, ...) works.",
            "# TYPE hotline_output_up gauge",
        ]
        lines += [
            f'hotline_output_up{{output="{_label(name)}"}} {int(ok)}'
            for name, (ok, _message) in sorted(outputs.states.items())
        ]
        lines += [
            "# HELP hotline_output_failures_total Failures of each output since start.",
            "# TYPE hotline_output_failures_total counter",
        ]
        lines += [
            f'hotline_output_failures_total{{output="{_label(name)}"}} {count}'
            for name, count in sorted(outputs.failures.items())
        ]
    lines += [
        "# HELP hotline_mqtt_connected 1 while the broker connection is up.",
        "# TYPE hotline_mqtt_connected gauge",
        f"hotline_mqtt_connected {int(board.connected)}",
        "# HELP hotline_feed_live 1 while the phone-system feed is live.",
        "# TYPE hotline_feed_live gauge",
        f"hotline_feed_live {int(feed_state(board, now) == 'live')}",
        "# HELP hotline_last_message_age_seconds Age of the newest message (-1: none yet).",
        "# TYPE hotline_last_message_age_seconds gauge",
        f"hotline_last_message_age_seconds {age:.3f}",
        "# HELP hotline_queue_waiting Callers waiting, per queue.",
        "# TYPE hotline_queue_waiting gauge",
    ]
    queues = shown_queues(board)
    lines += [
        f'hotline_queue_waiting{{queue="{_label(e.state.queue)}"}} {e.state.waiting}'
        for e in queues
    ]
    lines += [
        "# HELP hotline_queue_longest_wait_seconds Longest current wait, per queue.",
        "# TYPE hotline_queue_longest_wait_seconds gauge",
    ]
    lines += [
        f'hotline_queue_longest_wait_seconds{{queue="{_label(e.state.queue)}"}} '
        f"{longest_wait_s(e, now):.1f}"
        for e in queues
    ]
    for name, value in (counters or {}).items():
        lines += [f"# TYPE hotline_{name} counter", f"hotline_{name} {value}"]
    return "\n".join(lines) + "\n"
