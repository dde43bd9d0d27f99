"""The Asterisk Manager Interface (AMI) wire protocol, and a small asyncio client.

AMI is line-based text over TCP: after a one-line banner, each message is a block of
`Key: Value` lines ended by an empty line. Actions carry an `ActionID` that the response
echoes; list actions (`QueueStatus`) answer `EventList: start`, then events with the
same ActionID, then a `...Complete` event with `EventList: Complete`. Everything else
is an unsolicited event.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NoReturn

from appliance.core.errors import HotlineError

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 8192  # Asterisk's own lines are far shorter; a longer one is hostile
MAX_FIELDS = 256

Message = dict[str, str]


class AmiError(HotlineError, ConnectionError):
    """AMI unreachable, login refused, or the peer broke the protocol."""


class AmiParser:
    """Bytes in, messages out: incremental, bounded, never raises on bad input.

    A line without a colon is kept under the key "" (Asterisk sends such lines in
    `Response: Follows` command output); an over-long line or block is dropped and
    counted, and parsing resumes at the next message.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._fields: Message = {}
        self._count = 0
        self._skipping = False
        self.dropped = 0

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages: list[Message] = []
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_LINE_BYTES:
                    del self._buffer[:]
                    self._drop()
                return messages
            raw = bytes(self._buffer[:end]).rstrip(b"\r")
            del self._buffer[: end + 1]
            if len(raw) > MAX_LINE_BYTES:
                self._drop()
            elif not raw:
                if self._fields and not self._skipping:
                    messages.append(self._fields)
                self._fields, self._count, self._skipping = {}, 0, False
            elif not self._skipping:
                self._add(raw.decode("utf-8", errors="replace"))

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


def encode_message(fields: Mapping[str, str]) -> bytes:
    """One AMI block; newlines in values would start a new field, so they are removed."""
    lines = [f"{key}: {' '.join(str(value).splitlines())}\r\n" for key, value in fields.items()]
    return "".join(lines).encode() + b"\r\n"


def is_success(response: Message) -> bool:
    return response.get("Response", "").lower() in ("success", "follows", "goodbye")


@dataclass(slots=True)
class _Pending:
    future: asyncio.Future[list[Message]]
    listing: bool = False
    items: list[Message] = field(default_factory=list)


class AmiConnection:
    """One logged-in AMI session. Events go to `on_event`; actions are awaited.

    `run()` reads until the connection ends, then fails every pending action and raises
    AmiError, so the owner can reconnect.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_event: Callable[[Message], None],
        *,
        banner: str,
    ) -> None:
        self._reader, self._writer = reader, writer
        self._on_event = on_event
        self._parser = AmiParser()
        self._pending: dict[str, _Pending] = {}
        self._ids: Iterator[int] = itertools.count(1)
        self.banner = banner

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        on_event: Callable[[Message], None],
        *,
        timeout_s: float = 10.0,
    ) -> AmiConnection:
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port)
                banner = (await reader.readline()).decode("utf-8", errors="replace").strip()
        except (OSError, TimeoutError) as error:
            raise AmiError(f"AMI at {host}:{port} unreachable: {error or 'timeout'}") from error
        if not banner.startswith("Asterisk Call Manager"):
            writer.close()
            raise AmiError(f"AMI at {host}:{port} is not an Asterisk manager: {banner[:60]!r}")
        return cls(reader, writer, on_event, banner=banner)

    async def run(self) -> NoReturn:
        reason = "AMI closed the connection"
        try:
            while data := await self._reader.read(65536):
                for message in self._parser.feed(data):
                    self._dispatch(message)
        except OSError as error:
            reason = f"AMI connection lost: {error}"
        failure = AmiError(reason)
        self._fail(failure)
        raise failure

    def _fail(self, error: AmiError) -> None:
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
        self._pending.clear()

    def _dispatch(self, message: Message) -> None:
        pending = self._pending.get(message.get("ActionID", ""))
        if pending is None:
            if "Event" in message:
                self._on_event(message)
            return
        if "Response" in message:
            if message.get("EventList", "").lower() == "start" and is_success(message):
                pending.listing = True
                return
            self._settle(message["ActionID"], [message])
        elif pending.listing:
            if message.get("EventList", "").lower() == "complete":
                self._settle(message["ActionID"], pending.items)
            else:
                pending.items.append(message)

    def _settle(self, action_id: str, result: list[Message]) -> None:
        pending = self._pending.pop(action_id)
        if not pending.future.done():
            pending.future.set_result(result)

    async def action(
        self, name: str, fields: Mapping[str, str] | None = None, *, timeout_s: float = 10.0
    ) -> list[Message]:
        """Send an action; return its response, or a list action's events.

        An `Error` response is returned, not raised: for the caller it is an answer.
        """
        action_id = f"hotline-{next(self._ids)}"
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future)
        header = {"Action": name, "ActionID": action_id}
        self._writer.write(encode_message(header | dict(fields or {})))
        try:
            async with asyncio.timeout(timeout_s):
                await self._writer.drain()
                return await future
        except TimeoutError as error:
            raise AmiError(f"AMI did not answer {name} in {timeout_s:g} s") from error
        finally:
            self._pending.pop(action_id, None)

    async def login(self, username: str, secret: str) -> None:
        credentials = {"Username": username, "Secret": secret, "Events": "on"}
        (response,) = await self.action("Login", credentials)
        if not is_success(response):
            reason = response.get("Message", "refused")
            raise AmiError(f"AMI login as {username!r} refused: {reason}")

    async def close(self) -> None:
        with contextlib.suppress(AmiError, OSError, ValueError):
            await self.action("Logoff", timeout_s=1.0)
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
