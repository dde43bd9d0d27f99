"""The demo page: the wallboard next to the emulated LED sign (and, later, the desks)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from wallboard.alpha_display import Screen
from wallboard.sign_picture import sign_png
from wallboard.web import STATIC

ScreensSource = Callable[[], tuple[Screen, ...]]
SCREENS: web.AppKey[ScreensSource] = web.AppKey("demo_screens")


async def demo_page(_request: web.Request) -> web.Response:
    return web.Response(text=(STATIC / "demo.html").read_text("utf-8"), content_type="text/html")


async def sign_picture(request: web.Request) -> web.Response:
    screens = request.app[SCREENS]()
    return web.Response(
        body=sign_png(screens[0] if screens else None),
        content_type="image/png",
        headers={"Cache-Control": "no-store"},
    )


def add_demo_routes(app: web.Application, screens: ScreensSource) -> None:
    app[SCREENS] = screens
    app.router.add_get("/demo", demo_page)
    app.router.add_get("/demo/sign.png", sign_picture)
