"""The demo page: the wallboard next to the emulated LED sign (and, later, the desks)."""

from __future__ import annotations

import io
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from PIL import Image

from wallboard.sign.memory import Screen
from wallboard.sign.picture import sign_png
from wallboard.web.app import STATIC

ScreensSource = Callable[[], tuple[Screen, ...]]
SCREENS: web.AppKey[ScreensSource] = web.AppKey("demo_screens")


@dataclass(frozen=True, slots=True)
class DemoDesks:
    """The demo's desks: their state as JSON, their OLED frames, a press."""

    state: Callable[[], list[dict[str, Any]]]
    frame: Callable[[str], Image.Image | None]
    press: Callable[[str, float], Awaitable[dict[str, Any]]]


DESKS: web.AppKey[DemoDesks] = web.AppKey("demo_desks")


async def desks_state(request: web.Request) -> web.Response:
    return web.json_response(
        request.app[DESKS].state(),
        headers={"Cache-Control": "no-store"},
        dumps=lambda data: json.dumps(data, ensure_ascii=False),
    )


async def desk_frame(request: web.Request) -> web.Response:
    frame = request.app[DESKS].frame(request.match_info["desk"])
    if frame is None:
        raise web.HTTPNotFound
    scale = 3
    image = frame.convert("RGB").resize(
        (frame.width * scale, frame.height * scale), Image.Resampling.NEAREST
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return web.Response(
        body=out.getvalue(), content_type="image/png", headers={"Cache-Control": "no-store"}
    )


async def desk_press(request: web.Request) -> web.Response:
    """The virtual button: the demo runs on this machine alone, so no token, same origin."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{request.host}":
        raise web.HTTPForbidden(text="cross-origin request refused")
    held_s = 2.0 if request.query.get("hold") else 0.1
    desks = request.app[DESKS]
    return web.json_response(
        await desks.press(request.match_info["desk"], held_s),
        dumps=lambda data: json.dumps(data, ensure_ascii=False),
    )


async def demo_page(_request: web.Request) -> web.Response:
    return web.Response(text=(STATIC / "demo.html").read_text("utf-8"), content_type="text/html")


async def sign_picture(request: web.Request) -> web.Response:
    screens = request.app[SCREENS]()
    return web.Response(
        body=sign_png(screens[0] if screens else None),
        content_type="image/png",
        headers={"Cache-Control": "no-store"},
    )


def add_demo_routes(app: web.Application, screens: ScreensSource, desks: DemoDesks) -> None:
    app[SCREENS] = screens
    app[DESKS] = desks
    app.router.add_get("/demo", demo_page)
    app.router.add_get("/demo/sign.png", sign_picture)
    app.router.add_get("/demo/desks", desks_state)
    app.router.add_get("/demo/desks/{desk}/oled.png", desk_frame)
    app.router.add_post("/demo/desks/{desk}/press", desk_press)
