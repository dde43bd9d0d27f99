"""A pretend Asterisk that speaks the real AMI wire format, for the bridge's tests.

It keeps a small model of its queues (members, waiting callers) so that `QueueStatus`
answers what its events said, replays transcripts (AMI text, blocks separated by blank
lines) to every logged-in client, carries out `QueuePause` as Asterisk does (answer, then
a `QueueMemberPause` event), and can drop connections or lose an event on purpose.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field

from appliance.phone.bridge import ami_protocol as ami

Message = ami.Fields

BANNER = ami.encode(ami.Banner("Asterisk Call Manager/7.0.3"))


@dataclass
class FakeMember:
    name: str
    status: int = 1
    paused: bool = False
    reason: str = ""


@dataclass
class FakeQueue:
    members: dict[str, FakeMember] = field(default_factory=dict)
    entries: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (caller, t)


def parse_transcript(text: str) -> list[Message]:
    """AMI text as captured (`;` comment lines allowed) into messages."""
    lines = [line for line in text.splitlines() if not line.startswith(";")]
    reader = ami.Reader()
    return [m.fields for m in reader.messages(("\r\n".join(lines) + "\r\n\r\n").encode())]


class FakeAsterisk:
    def __init__(self) -> None:
        self.credentials = ("hotline", "s3cret")  # the bridge's ami.secret in the tests
        self.queues: dict[str, FakeQueue] = {}
        self.actions: list[Message] = []
        self.logins = 0
        self.pause_refusal = ""  # set: QueuePause answers Error with this message
        self.frozen = False
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._logged_in = asyncio.Condition()

    @property
    def port(self) -> int:
        assert self._server is not None
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self.drop_clients()
            await self._server.wait_closed()
            self._server = None

    def drop_clients(self) -> None:
        for writer in list(self._clients):
            writer.close()
        self._clients.clear()

    async def wait_logins(self, count: int, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s), self._logged_in:
            await self._logged_in.wait_for(lambda: self.logins >= count)

    # --- the model --------------------------------------------------------------------

    def add_member(self, queue: str, interface: str, name: str, *, status: int = 1) -> None:
        self.queues.setdefault(queue, FakeQueue()).members[interface] = FakeMember(name, status)

    def apply(self, event: Message) -> None:
        """What Asterisk's own state does when it emits `event`."""
        queue = self.queues.setdefault(event.get("Queue", ""), FakeQueue())
        name = event.get("Event", "")
        uniqueid = event.get("Uniqueid", "")
        if name == "QueueCallerJoin":
            queue.entries[uniqueid] = (event.get("CallerIDNum", ""), time.monotonic())
        elif name in ("QueueCallerLeave", "QueueCallerAbandon", "AgentConnect"):
            queue.entries.pop(uniqueid, None)
        elif name == "QueueMemberRemoved":
            queue.members.pop(event.get("Interface", ""), None)
        elif name.startswith("QueueMember"):
            member = queue.members.setdefault(event["Interface"], FakeMember(""))
            member.name = event.get("MemberName", member.name)
            member.status = int(event.get("Status", member.status))
            member.paused = event.get("Paused", "0") == "1"
            member.reason = event.get("PausedReason", "")

    def emit(self, event: Message, *, lost: bool = False) -> None:
        """Apply an event and send it, or (`lost`) apply it and let clients miss it."""
        self.apply(event)
        if not lost:
            self._send(ami.encode_fields(event))

    def replay(self, transcript: str) -> None:
        for event in parse_transcript(transcript):
            self.emit(event)

    def _send(self, data: bytes) -> None:
        for writer in list(self._clients):
            writer.write(data)

    def member_event(self, name: str, queue: str, interface: str) -> Message:
        member = self.queues[queue].members[interface]
        return {
            "Event": name,
            "Privilege": "agent,all",
            "Queue": queue,
            "MemberName": member.name,
            "Interface": interface,
            "StateInterface": interface,
            "Membership": "dynamic",
            "Penalty": "0",
            "CallsTaken": "0",
            "LastCall": "0",
            "LastPause": "0",
            "LoginTime": "1764349200",
            "InCall": "1" if member.status in (2, 3, 8) else "0",
            "Status": str(member.status),
            "Paused": "1" if member.paused else "0",
            "PausedReason": member.reason,
            "Ringinuse": "0",
            "Wrapuptime": "0",
        }

    # --- the wire ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)
        parser, authenticated = ami.Reader(), False
        try:
            while data := await reader.read(4096):
                for message in parser.messages(data):
                    if not isinstance(message, ami.Action):
                        continue  # a client sends actions only
                    action = message.fields
                    self.actions.append(action)
                    if self.frozen:  # a hung Asterisk: the connection stays, nothing answers
                        continue
                    if action.get("Action", "").lower() == "login":
                        authenticated = await self._login(action, writer)
                    elif not authenticated:
                        self._respond(writer, action, "Error", "Permission denied")
                    else:
                        self._act(action, writer)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    def _respond(
        writer: asyncio.StreamWriter, action: Message, response: str, message: str, **more: str
    ) -> None:
        fields = {"Response": response, "ActionID": action.get("ActionID", "")}
        writer.write(ami.encode(ami.Response(fields | more | {"Message": message})))

    async def _login(self, action: Message, writer: asyncio.StreamWriter) -> bool:
        if (action.get("Username"), action.get("Secret")) != self.credentials:
            self._respond(writer, action, "Error", "Authentication failed")
            return False
        self._respond(writer, action, "Success", "Authentication accepted")
        writer.write(ami.encode(ami.Event({"Event": "FullyBooted", "Privilege": "system,all"})))
        self._clients.add(writer)
        async with self._logged_in:
            self.logins += 1
            self._logged_in.notify_all()
        return True

    def _act(self, action: Message, writer: asyncio.StreamWriter) -> None:
        match action.get("Action", "").lower():
            case "queuestatus":
                self._queue_status(action, writer)
            case "queuepause":
                self._queue_pause(action, writer)
            case "ping":
                self._respond(writer, action, "Success", "", Ping="Pong")
            case "logoff":
                self._respond(writer, action, "Goodbye", "Thanks for all the fish.")
                writer.close()
            case _:
                self._respond(writer, action, "Error", "Invalid/unknown command")

    def _queue_status(self, action: Message, writer: asyncio.StreamWriter) -> None:
        action_id = action.get("ActionID", "")
        self._respond(writer, action, "Success", "Queue status will follow", EventList="start")
        items = 0
        for name, queue in self.queues.items():
            if not name:
                continue
            blocks: list[Message] = [
                {"Event": "QueueParams", "Queue": name, "Max": "0", "Strategy": "rrmemory",
                 "Calls": str(len(queue.entries)), "Holdtime": "0", "TalkTime": "0",
                 "Completed": "0", "Abandoned": "0", "ServiceLevel": "60",
                 "ServicelevelPerf": "0.0", "ServicelevelPerf2": "0.0", "Weight": "0"},
            ]  # fmt: skip
            for interface in queue.members:
                member = self.member_event("QueueMember", name, interface)
                member["Location"] = member.pop("Interface")
                member["Name"] = member.pop("MemberName")
                blocks.append(member)
            for position, (uniqueid, (caller, since)) in enumerate(queue.entries.items(), 1):
                blocks.append(
                    {"Event": "QueueEntry", "Queue": name, "Position": str(position),
                     "Channel": f"PJSIP/trunk-{uniqueid}", "Uniqueid": uniqueid,
                     "CallerIDNum": caller, "CallerIDName": "unknown",
                     "ConnectedLineNum": "unknown", "ConnectedLineName": "unknown",
                     "Wait": str(int(time.monotonic() - since)), "Priority": "0"}
                )  # fmt: skip
            for block in blocks:
                writer.write(ami.encode(ami.Event(block | {"ActionID": action_id})))
            items += len(blocks)
        writer.write(
            ami.encode_fields(
                {"Event": "QueueStatusComplete", "ActionID": action_id,
                 "EventList": "Complete", "ListItems": str(items)}
            )
        )  # fmt: skip

    def _queue_pause(self, action: Message, writer: asyncio.StreamWriter) -> None:
        interface = action.get("Interface", "")
        queues = [action["Queue"]] if action.get("Queue") else list(self.queues)
        found = [q for q in queues if interface in self.queues.get(q, FakeQueue()).members]
        if self.pause_refusal or not found:
            self._respond(writer, action, "Error", self.pause_refusal or "Interface not found")
            return
        paused = action.get("Paused", "").lower() in ("true", "1", "yes")
        self._respond(writer, action, "Success", "Interface paused successfully")
        for queue in found:
            member = self.queues[queue].members[interface]
            member.paused, member.reason = paused, action.get("Reason", "") if paused else ""
            self._send(
                ami.encode(ami.Event(self.member_event("QueueMemberPause", queue, interface)))
            )
