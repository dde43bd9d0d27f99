"""The demo page: the wallboard next to the emulated LED sign (and, later, the desks)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from wallboard.sign.memory import Screen
from wallboard.sign.picture import sign_png
from wallboard.web.app import FRAME_SCALE, STATIC

ScreensSource = Callable[[], tuple[Screen, ...]]
SCREENS: web.AppKey[ScreensSource] = web.AppKey("demo_screens")


DemoPress = Callable[[str, float], Awaitable[dict[str, Any]]]
PRESS: web.AppKey[DemoPress] = web.AppKey("demo_press")


async def desk_press(request: web.Request) -> web.Response:
    """The virtual button: the demo runs on this machine alone, so no token, same origin."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{request.host}":
        raise web.HTTPForbidden(text="cross-origin request refused")
    held_s = 2.0 if request.query.get("hold") else 0.1
    return web.json_response(
        await request.app[PRESS](request.match_info["desk"], held_s),
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


def add_demo_routes(app: web.Application, screens: ScreensSource, press: DemoPress) -> None:
    """The demo page and its sign; its desks are the appliance's own `/api/desks`."""
    app[SCREENS] = screens
    app[PRESS] = press
    app[FRAME_SCALE] = 3  # the OLEDs, three times their size, on the demo page
    app.router.add_get("/demo", demo_page)
    app.router.add_get("/demo/sign.png", sign_picture)
    app.router.add_post("/demo/desks/{desk}/press", desk_press)
