"""The Asterisk Manager Interface (AMI) wire protocol, sans I/O, for both ends.

AMI is line-based text over TCP: after a one-line banner, each message is a block of
`Key: Value` lines ended by an empty line. The first key says what it is: an `Action`
(client to server), a `Response` to one (echoing its `ActionID`), or an `Event`. List
actions (`QueueStatus`) answer `EventList: start`, then events with the same ActionID,
then a `...Complete` event with `EventList: Complete`.

In the style of h11 and wsproto: one set of message types for both directions,
`encode(message) -> bytes`, and a `Reader` that takes bytes in any chunks and gives the
same types back from a bounded buffer; `ClientSession` adds the client's side of the
exchange (action ids, list responses) and is sans I/O as well. The asyncio client
(`ami.py`) and the tests' pretend Asterisk only pump bytes through these.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

MAX_LINE_BYTES = 8192  # Asterisk's own lines are far shorter; a longer one is hostile
MAX_FIELDS = 256

Fields = dict[str, str]


@dataclass(frozen=True, slots=True)
class Banner:
    """The server's first line: `Asterisk Call Manager/7.0.3`."""

    text: str

    @property
    def is_asterisk(self) -> bool:
        return self.text.startswith("Asterisk Call Manager")


@dataclass(frozen=True, slots=True)
class Action:
    """Client to server: `Action: QueuePause` and its fields, `ActionID` among them."""

    fields: Fields

    @classmethod
    def named(cls, name: str, action_id: str, fields: Mapping[str, str] | None = None) -> Action:
        return cls({"Action": name, "ActionID": action_id} | dict(fields or {}))

    @property
    def name(self) -> str:
        return self.fields.get("Action", "")

    @property
    def action_id(self) -> str:
        return self.fields.get("ActionID", "")


@dataclass(frozen=True, slots=True)
class Response:
    """Server to client, for one action: `Response: Success` (or Error, Follows, Goodbye)."""

    fields: Fields

    @property
    def action_id(self) -> str:
        return self.fields.get("ActionID", "")

    @property
    def success(self) -> bool:
        return self.fields.get("Response", "").lower() in ("success", "follows", "goodbye")

    @property
    def starts_list(self) -> bool:
        return self.success and self.fields.get("EventList", "").lower() == "start"


@dataclass(frozen=True, slots=True)
class Event:
    """Server to client: unsolicited, or one item of a list action's answer."""

    fields: Fields

    @property
    def name(self) -> str:
        return self.fields.get("Event", "")

    @property
    def action_id(self) -> str:
        return self.fields.get("ActionID", "")

    @property
    def completes_list(self) -> bool:
        return self.fields.get("EventList", "").lower() == "complete"


Message: TypeAlias = Action | Response | Event


def encode_fields(fields: Mapping[str, str]) -> bytes:
    """One AMI block; newlines in values would start a new field, so they are removed."""
    lines = [f"{key}: {' '.join(str(value).splitlines())}\r\n" for key, value in fields.items()]
    return "".join(lines).encode() + b"\r\n"


def encode(message: Message | Banner) -> bytes:
    if isinstance(message, Banner):
        return " ".join(message.text.splitlines()).encode() + b"\r\n"
    return encode_fields(message.fields)


def classify(fields: Fields) -> Message | None:
    """The message a block is, by its first key; None for a block that is none of them."""
    first = next(iter(fields), "")
    if first == "Action":
        return Action(fields)
    if first == "Response" or "Response" in fields:
        return Response(fields)
    if "Event" in fields:
        return Event(fields)
    return None


class Reader:
    """Bytes in, messages out: incremental, bounded, never raises on bad input.

    With `banner=True` (a client) the first line is the server's banner. A line without
    a colon is kept under the key "" (Asterisk sends such lines in `Response: Follows`
    command output); an over-long line or block is dropped and counted, and reading
    resumes at the next message. A block that is no message is counted as `ignored`.
    """

    def __init__(self, *, banner: bool = False) -> None:
        self._buffer = bytearray()
        self._fields: Fields = {}
        self._count = 0
        self._skipping = False
        self._want_banner = banner
        self.dropped = 0
        self.ignored = 0

    def receive_data(self, data: bytes) -> None:
        self._buffer += data

    def next_event(self) -> Message | Banner | None:
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE_BYTES:
                    del self._buffer[:]
                    self._drop()
                return None
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if self._want_banner:
                self._want_banner = False
                return Banner(raw[:MAX_LINE_BYTES].decode("utf-8", errors="replace").strip())
            if len(raw) > MAX_LINE_BYTES:
                self._drop()
            elif not raw:
                fields, skipped = self._fields, self._skipping
                self._fields, self._count, self._skipping = {}, 0, False
                if fields and not skipped:
                    message = classify(fields)
                    if message is not None:
                        return message
                    self.ignored += 1
            elif not self._skipping:
                self._add(raw.decode("utf-8", errors="replace"))

    def messages(self, data: bytes = b"") -> list[Message]:
        """`receive_data(data)`, then every message that is complete."""
        self.receive_data(data)
        found: list[Message] = []
        while (event := self.next_event()) is not None:
            if not isinstance(event, Banner):
                found.append(event)
        return found

    def _add(self, line: str) -> None:
        self._count += 1
        if self._count > MAX_FIELDS:
            self._drop()
            return
        key, colon, value = line.partition(":")
        if colon:
            self._fields[key.strip()] = value.strip()
        else:
            self._fields[""] = (self._fields.get("", "") + "\n" + line).lstrip("\n")

    def _drop(self) -> None:
        self.dropped += 1
        self._skipping = True
        self._fields, self._count = {}, 0


# --- the client's side of the exchange ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionDone:
    """An action answered: its response, or for a list action the events it listed."""

    action_id: str
    response: Response
    items: tuple[Event, ...] = ()
    listed: bool = False  # a list action: `items` is the answer, however many


@dataclass(slots=True)
class _Pending:
    listing: bool = False
    response: Response | None = None
    items: list[Event] = field(default_factory=list)


class ClientSession:
    """A client's AMI session, sans I/O: actions out, `Banner`/`ActionDone`/`Event` in.

    `send(name, fields)` returns the action's id and its bytes; `receive_data(data)`
    then `next_event()` until None. An event that answers an action of ours is kept for
    its `ActionDone`; every other event comes out as itself.
    """

    def __init__(self, id_prefix: str = "hotline") -> None:
        self._reader = Reader(banner=True)
        self._pending: dict[str, _Pending] = {}
        self._ids: Iterator[int] = itertools.count(1)
        self._prefix = id_prefix

    @property
    def dropped(self) -> int:
        return self._reader.dropped

    def send(self, name: str, fields: Mapping[str, str] | None = None) -> tuple[str, bytes]:
        action_id = f"{self._prefix}-{next(self._ids)}"
        self._pending[action_id] = _Pending()
        return action_id, encode(Action.named(name, action_id, fields))

    def forget(self, action_id: str) -> None:
        """No longer wait for this action (it timed out): its late answer is dropped."""
        self._pending.pop(action_id, None)

    def pending(self) -> list[str]:
        return list(self._pending)

    def receive_data(self, data: bytes) -> None:
        self._reader.receive_data(data)

    def next_event(self) -> Banner | ActionDone | Event | None:
        while (message := self._reader.next_event()) is not None:
            done = self._handle(message)
            if done is not None:
                return done
        return None

    def _handle(self, message: Message | Banner) -> Banner | ActionDone | Event | None:
        if isinstance(message, Banner):
            return message
        if isinstance(message, Action):  # a server never sends one; nothing to answer
            return None
        pending = self._pending.get(message.action_id)
        if pending is None:
            return message if isinstance(message, Event) else None
        if isinstance(message, Response):
            if message.starts_list:
                pending.listing, pending.response = True, message
                return None
            del self._pending[message.action_id]
            return ActionDone(message.action_id, message)
        if not pending.listing:  # an event that merely carries our id: not for us
            return None
        if message.completes_list:
            del self._pending[message.action_id]
            assert pending.response is not None
            return ActionDone(message.action_id, pending.response, tuple(pending.items), True)
        pending.items.append(message)
        return None
