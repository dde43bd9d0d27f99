"""Headless Chromium driven over the DevTools protocol, with aiohttp as the only client.

Enough for tests and screenshots: open a page, evaluate JavaScript, wait for a
condition, collect exceptions and dialogs, capture a PNG.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
]


class Page:
    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.pid = 0  # the browser's process (its renderers are its children)
        self.exceptions: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []

    async def _read(self) -> None:
        async for message in self._socket:
            data = message.json()
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future and not future.done():
                    future.set_result(data)
            elif data.get("method") == "Runtime.exceptionThrown":
                self.exceptions.append(str(data["params"]["exceptionDetails"]))
            elif data.get("method") == "Page.javascriptDialogOpening":
                self.dialogs.append(data["params"]["message"])
                await self._socket.send_json(
                    {
                        "id": next(self._ids),
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": True},
                    }
                )
            elif data.get("method") == "Log.entryAdded":
                self.console.append(data["params"]["entry"]["text"])

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._socket.send_json({"id": ident, "method": method, "params": params or {}})
        async with asyncio.timeout(15):
            reply = await future
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return dict(reply.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        return result.get("result", {}).get("value")

    async def settle(self) -> None:
        """Until the page has drawn two frames: resize handlers and layout have run."""
        frames = "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        await self.send("Runtime.evaluate", {"expression": frames, "awaitPromise": True})

    async def viewport(self, width: int, height: int, scale: float = 1) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": scale, "mobile": False},
        )
        await self.settle()

    async def wait_for(self, expression: str, timeout_s: float = 10.0) -> Any:
        """Poll `expression` until it is truthy; the last value is in the error otherwise."""
        value = None
        try:
            async with asyncio.timeout(timeout_s):
                while not (value := await self.evaluate(expression)):
                    await asyncio.sleep(0.05)
        except TimeoutError:
            raise AssertionError(f"{expression!r} stayed {value!r} for {timeout_s} s") from None
        return value

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def screenshot(self, path: Path, width: int | None = None) -> None:
        """A PNG of the page; `width` shrinks it to that many pixels across."""
        params: dict[str, Any] = {"format": "png"}
        if width is not None:
            size = await self.evaluate("[innerWidth, innerHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1],
                              "scale": width / size[0]}  # fmt: skip
        result = await self.send("Page.captureScreenshot", params)
        path.write_bytes(base64.b64decode(result["data"]))


@contextlib.asynccontextmanager
async def chromium_page(width: int = 1920, height: int = 1080) -> AsyncIterator[Page]:
    """A fresh browser with its own profile, and one page in it."""
    temporary = tempfile.TemporaryDirectory(prefix="hotline-chromium-", ignore_cleanup_errors=True)
    with temporary as profile:
        process = subprocess.Popen(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-port=0",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            async with asyncio.timeout(30):
                while not port_file.exists() or len(port_file.read_text().split()) < 2:
                    await asyncio.sleep(0.05)
            port = port_file.read_text().split()[0]
            async with aiohttp.ClientSession() as http:
                async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as reply:
                    target = await reply.json(content_type=None)
                async with http.ws_connect(
                    target["webSocketDebuggerUrl"], max_msg_size=0
                ) as socket:
                    page = Page(socket)
                    page.pid = process.pid
                    reader = asyncio.create_task(page._read())
                    try:
                        for domain in ("Page", "Runtime", "Log"):
                            await page.send(f"{domain}.enable")
                        await page.viewport(width, height)
                        yield page
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
