"""A small asyncio AMI client: it pumps bytes through the sans-I/O `ClientSession`.

One `AmiConnection` is one logged-in session. Events go to `on_event`; actions are
awaited. `run()` reads until the connection ends, then fails every pending action and
raises AmiError, so the owner can reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import NoReturn

from appliance.core.errors import HotlineError
from appliance.phone.bridge.ami_protocol import ActionDone, Banner, ClientSession, Event, Response

log = logging.getLogger(__name__)

Message = dict[str, str]  # a message's fields, as the bridge reads them


class AmiError(HotlineError, ConnectionError):
    """AMI unreachable, login refused, or the peer broke the protocol."""


def is_success(response: Message) -> bool:
    return Response(response).success


class AmiConnection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        session: ClientSession,
        on_event: Callable[[Message], None],
        *,
        banner: str,
    ) -> None:
        self._reader, self._writer = reader, writer
        self._session = session
        self._on_event = on_event
        self._waiting: dict[str, asyncio.Future[list[Message]]] = {}
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
        session = ClientSession()
        try:
            async with asyncio.timeout(timeout_s):
                reader, writer = await asyncio.open_connection(host, port)
                banner = None
                while banner is None:
                    data = await reader.read(4096)
                    if not data:
                        raise OSError("closed before its banner")
                    session.receive_data(data)
                    banner = session.next_event()
        except (OSError, TimeoutError) as error:
            raise AmiError(f"AMI at {host}:{port} unreachable: {error or 'timeout'}") from error
        if not isinstance(banner, Banner) or not banner.is_asterisk:
            writer.close()
            text = banner.text if isinstance(banner, Banner) else ""
            raise AmiError(f"AMI at {host}:{port} is not an Asterisk manager: {text[:60]!r}")
        connection = cls(reader, writer, session, on_event, banner=banner.text)
        connection._dispatch_all()  # what came with the banner
        return connection

    async def run(self) -> NoReturn:
        reason = "AMI closed the connection"
        try:
            while data := await self._reader.read(65536):
                self._session.receive_data(data)
                self._dispatch_all()
        except OSError as error:
            reason = f"AMI connection lost: {error}"
        failure = AmiError(reason)
        self._fail(failure)
        raise failure

    def _fail(self, error: AmiError) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()

    def _dispatch_all(self) -> None:
        while (event := self._session.next_event()) is not None:
            if isinstance(event, Event):
                self._on_event(event.fields)
            elif isinstance(event, ActionDone):
                future = self._waiting.pop(event.action_id, None)
                if future is not None and not future.done():
                    items = [item.fields for item in event.items]
                    future.set_result(items if event.listed else [event.response.fields])

    async def action(
        self, name: str, fields: Mapping[str, str] | None = None, *, timeout_s: float = 10.0
    ) -> list[Message]:
        """Send an action; return its response, or a list action's events.

        An `Error` response is returned, not raised: for the caller it is an answer.
        """
        action_id, data = self._session.send(name, fields)
        future: asyncio.Future[list[Message]] = asyncio.get_running_loop().create_future()
        self._waiting[action_id] = future
        self._writer.write(data)
        try:
            async with asyncio.timeout(timeout_s):
                await self._writer.drain()
                return await future
        except TimeoutError as error:
            raise AmiError(f"AMI did not answer {name} in {timeout_s:g} s") from error
        finally:
            self._waiting.pop(action_id, None)
            self._session.forget(action_id)

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
