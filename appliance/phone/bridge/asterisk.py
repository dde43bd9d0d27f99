"""`hotline bridge asterisk`: Asterisk's queues published as the MQTT contract.

Three tasks under one TaskGroup: the MQTT link, the AMI session (connect, log in,
snapshot with QueueStatus, follow events, snapshot again every `snapshot_interval_s`,
reconnect with backoff), and the publisher, which sends what changed, coalesced, and
every queue at least every `heartbeat_s`. Desk requests become `QueuePause` actions.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from appliance.core.contract import (
    VERSION,
    AgentToday,
    AgentUpdate,
    QueueUpdate,
    SetRequestUpdate,
    SetResult,
    Today,
    Topics,
    decode,
    encode,
)
from appliance.core.errors import NotConnectedError
from appliance.drivers.mqtt import MqttLink
from appliance.phone.bridge.ami import AmiConnection, AmiError, Message, is_success
from appliance.phone.bridge.config import UNASSIGNED_SITE, BridgeConfig
from appliance.phone.bridge.pbx import Changes, Pbx
from appliance.runtime.backoff import Backoff

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AsteriskBridge:
    def __init__(
        self,
        config: BridgeConfig,
        *,
        clock: Callable[[], datetime] = _utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        self.config = config
        self.topics = Topics(config.mqtt.prefix)
        self._zone = ZoneInfo(config.stats.timezone)
        self._clock = clock
        self.pbx = Pbx(config, self.now())
        self._ami: AmiConnection | None = None
        self._backoff = backoff or Backoff(first_s=1.0)
        self._pending = Changes()
        self._wake = asyncio.Event()
        self._requests: asyncio.Queue[SetRequestUpdate] = asyncio.Queue()
        self._announced: bytes | None = None
        self._answered: collections.OrderedDict[str, SetResult] = collections.OrderedDict()
        self.ami_error = "not connected yet"
        self.link = MqttLink(
            config.mqtt,
            client_id=f"hotline-bridge-{socket.gethostname()[:40]}",
            subscriptions=[
                *self.topics.phone_system_subscriptions(),
                self.topics.queue("+"),
                self.topics.agent("+"),  # our own agents' `today`, from before a restart
            ],
            on_message=self._on_message,
            on_retained=self._on_retained,
            on_connection=self._on_connection,
            availability_topic=self.topics.system_status,
            is_available=lambda: self._ami is not None,
            session_expiry_s=3600,  # requests made while we reconnect wait for us
        )

    def now(self) -> datetime:
        return self._clock().astimezone(self._zone)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.link.run(), name="bridge-mqtt")
            group.create_task(self._follow_asterisk(), name="bridge-ami")
            group.create_task(self._publish_changes(), name="bridge-publisher")
            group.create_task(self._answer_requests(), name="bridge-requests")

    # --- AMI ----------------------------------------------------------------------------

    async def _follow_asterisk(self) -> None:
        ami = self.config.ami
        while True:
            connection: AmiConnection | None = None
            try:
                connection = await AmiConnection.open(
                    ami.host, ami.port, self._on_event, timeout_s=ami.connect_timeout_s
                )
                async with asyncio.TaskGroup() as group:
                    group.create_task(connection.run(), name="bridge-ami-reader")
                    await connection.login(ami.username, self.config.secret)
                    await self._session(connection)
            except* (AmiError, OSError) as failure:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    # Stopping as Asterisk went away: 3.11's TaskGroup gave us the error
                    # instead of the cancellation; the bridge must still stop.
                    raise asyncio.CancelledError from failure.exceptions[0]
                self._ami_down(str(failure.exceptions[0]))
            finally:
                if connection is not None:
                    await connection.close()
            await asyncio.sleep(self._backoff.next_delay())

    async def _session(self, connection: AmiConnection) -> None:
        await self._snapshot(connection)
        self._ami, self.ami_error = connection, ""
        self._backoff.reset()
        log.info("following Asterisk (%s)", connection.banner)
        self._wake.set()  # the publisher says "online" once the snapshot is out
        loop = asyncio.get_running_loop()
        next_snapshot = loop.time() + self.config.stats.snapshot_interval_s
        ami = self.config.ami
        while True:
            await asyncio.sleep(min(ami.ping_interval_s, max(0.0, next_snapshot - loop.time())))
            if loop.time() >= next_snapshot:
                await self._snapshot(connection)
                next_snapshot = loop.time() + self.config.stats.snapshot_interval_s
            else:
                await self._ping(connection)

    async def _ping(self, connection: AmiConnection) -> None:
        """Asterisk must answer: a frozen one holds the TCP connection and says nothing."""
        timeout = self.config.ami.ping_timeout_s
        (answer,) = await connection.action("Ping", timeout_s=timeout)
        if not is_success(answer):
            raise AmiError(f"AMI refused Ping: {answer.get('Message', '')}")

    async def _snapshot(self, connection: AmiConnection) -> None:
        events = await connection.action("QueueStatus", timeout_s=30.0)
        if len(events) == 1 and "Response" in events[0] and not is_success(events[0]):
            raise AmiError(f"QueueStatus refused: {events[0].get('Message', '')}")
        self._changed(self.pbx.apply_snapshot(events, self.now()))

    def _on_event(self, event: Message) -> None:
        self._changed(self.pbx.apply(event, self.now()))

    def _ami_down(self, reason: str) -> None:
        self._ami = None
        if reason != self.ami_error:  # one line per new reason, not one per retry
            log.warning("Asterisk: %s", reason)
        self.ami_error = reason
        self._wake.set()

    async def _announce(self) -> None:
        """`system/status` follows AMI: online only while Asterisk is followed."""
        status = b"online" if self._ami is not None else b"offline"
        if status != self._announced:
            with contextlib.suppress(NotConnectedError):
                await self.link.publish(self.topics.system_status, status, qos=1, retain=True)
                self._announced = status

    # --- MQTT ---------------------------------------------------------------------------

    def _on_connection(self, connected: bool, _reason: str) -> None:
        if connected:  # the broker may have lost our retained states: send everything
            self._announced = None  # and the link announced a status of its own
            self._changed(Changes(set(self.config.queues), set(self.pbx.members)))

    def _on_message(self, topic: str, payload: bytes) -> None:
        event = decode(self.topics, topic, payload)
        if isinstance(event, SetRequestUpdate):
            self._requests.put_nowait(event)
        # A live queue state is our own, seen again: never a seed for today's counts.

    def _on_retained(self, topic: str, payload: bytes) -> None:
        """What the broker kept: requests made while we were away, and our states from
        before a restart, which carry today's counts so far."""
        event = decode(self.topics, topic, payload)
        if isinstance(event, SetRequestUpdate):
            self._requests.put_nowait(event)
        elif isinstance(event, QueueUpdate) and event.state and event.state.today:
            self._take_over_counts(event.queue, event.state.today)
        elif isinstance(event, AgentUpdate) and event.state and event.state.today:
            self._take_over_agent_counts(event.agent, event.state.today)

    def _take_over_counts(self, queue: str, today: Today) -> None:
        """Our own retained state from before a restart carries today's counts so far."""
        if self.pbx.seed_today(queue, today):
            log.info("took over today's counts for %s from the broker", queue)
            self._changed(Changes(queues={queue}))

    def _take_over_agent_counts(self, agent: str, today: AgentToday) -> None:
        """The same for an agent's own counts (v1.1)."""
        interface = self.pbx.interface_of(agent)
        if self.pbx.seed_agent(agent, today) and interface is not None:
            self._changed(Changes(members={interface}))

    def _changed(self, changes: Changes) -> None:
        if changes:
            self._pending.queues |= changes.queues
            self._pending.members |= changes.members
            self._wake.set()

    async def _publish_changes(self) -> None:
        loop = asyncio.get_running_loop()
        heartbeat_s = self.config.stats.heartbeat_s
        next_heartbeat = loop.time() + heartbeat_s
        while True:
            timeout = next_heartbeat - loop.time()
            wrap_up_end = self.pbx.next_wrap_up_end()
            if wrap_up_end is not None:
                timeout = min(timeout, (wrap_up_end - self.now()).total_seconds())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, timeout)):
                    if self._pending and self.link.subscribed:
                        pass  # something waits to go out, and it can: no waiting
                    elif self._pending and self.link.connected:
                        await self.link.wait_connected()  # subscribed: what waits goes out
                    else:
                        await self._wake.wait()
            self._wake.clear()
            now = self.now()
            self._changed(self.pbx.end_wrap_ups(now))
            self._changed(self.pbx.roll_day(now))
            if loop.time() >= next_heartbeat:
                next_heartbeat = loop.time() + heartbeat_s
                self._pending.queues |= set(self.config.queues)
            # Not before the subscriptions are in: a state published sooner would replace the
            # retained one from before a restart, and today's counts in it, unseen.
            if self.link.subscribed and self._pending:
                await self._publish()
            if self.link.connected:
                await self._announce()
            await asyncio.sleep(0.05)  # coalesce a burst of events into one publication

    async def _publish(self) -> None:
        # Take the pending set: what changes while we publish is pending for the next round.
        pending, self._pending = self._pending, Changes()
        now = self.now()
        try:
            for interface in sorted(pending.members):
                agent_state = self.pbx.agent_state(interface, now)
                agent = self.pbx.mapping(interface).agent
                payload = encode(agent_state) if agent_state is not None else b""
                await self.link.publish(self.topics.agent(agent), payload, qos=1, retain=True)
                self.pbx.published_agents.add(agent)
                pending.members.discard(interface)
            for queue in sorted(pending.queues):
                state = self.pbx.queue_state(queue, now)
                await self.link.publish(self.topics.queue(queue), encode(state), retain=True)
                self.pbx.published.add(queue)  # from now on the retained state is ours
                pending.queues.discard(queue)
        except NotConnectedError:
            self._changed(pending)  # sent again after the reconnect

    # --- desk requests ------------------------------------------------------------------

    async def _answer_requests(self) -> None:
        while True:
            update = await self._requests.get()
            request_id = update.request.request_id
            result = self._answered.get(request_id)  # QoS 1 may deliver twice: act once
            if result is None:
                error = await self._carry_out(update)
                result = SetResult(
                    v=VERSION,
                    request_id=request_id,
                    status="error" if error else "ok",
                    error=error,
                )
                self._answered[request_id] = result
                while len(self._answered) > 1000:
                    self._answered.popitem(last=False)
            log.info(
                "request %s %s for %s: %s",
                request_id,
                update.request.state,
                update.agent,
                result.error or "ok",
            )
            topic = self.topics.set_result(update.site, update.agent)
            with contextlib.suppress(NotConnectedError):
                await self.link.publish(topic, encode(result), qos=1)

    def _refusal(self, update: SetRequestUpdate) -> str | None:
        if update.request.expires <= self.now():
            return "request expired"
        interface = self.pbx.interface_of(update.agent)
        if interface is None:
            return "agent is not known to the bridge"
        if self.pbx.mapping(interface).site != update.site or update.site == UNASSIGNED_SITE:
            return "agent does not belong to this site"
        if not self.pbx.member_queues(interface):
            return "agent is not logged in"
        if self._ami is None:
            return f"phone system unreachable: {self.ami_error}"
        return None

    async def _carry_out(self, update: SetRequestUpdate) -> str | None:
        refusal = self._refusal(update)
        if refusal is not None or self._ami is None:
            return refusal
        interface = self.pbx.interface_of(update.agent) or ""
        paused = update.request.state == "paused"
        fields = {"Interface": interface, "Paused": "true" if paused else "false"}
        if paused:
            fields["Reason"] = update.request.reason or "Pause"
        queues = [self.config.queues[q].asterisk for q in self.config.ami.pause_queues]
        try:
            for queue in queues or [""]:
                in_queue = {"Queue": queue} if queue else {}
                (response,) = await self._ami.action("QueuePause", fields | in_queue)
                if not is_success(response):
                    return response.get("Message") or "refused by the phone system"
        except AmiError as error:
            return f"phone system unreachable: {error}"
        return None
