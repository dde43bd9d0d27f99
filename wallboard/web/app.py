"""The web wallboard: a read-only page for TVs, its assets, the board API and its WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import io
import ipaddress
import json
import logging
import math
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any, Literal, TypeAlias

from aiohttp import WSMsgType, web
from PIL import Image

from appliance.core.health import HealthReport
from appliance.runtime.latest import Latest
from wallboard.web.fanout import BoardFanout
from wallboard.web.limits import GuessLimit, RateLimit
from wallboard.web.operations import AdminActions, FleetReport, Operations
from wallboard.words import words

log = logging.getLogger(__name__)

STATIC = resources.files("wallboard.web") / "static"
_CONTENT_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "SAMEORIGIN",  # the demo page frames the wallboard; nobody else may
}


IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
HistorySource = Callable[[date, date], Awaitable[dict[str, Any]]]
StatsSource = Callable[[date, date, str, str], Awaitable[dict[str, Any]]]  # from, to, group, by
PressDesk = Callable[[str, float], Awaitable[dict[str, Any]]]  # desk, held_s → outcome
DeskReports = Callable[[], list[dict[str, Any]]]
DeskFrame = Callable[[str], Image.Image | None]  # desk → the last frame its OLED showed
MAX_HISTORY_DAYS = 400


@dataclass(frozen=True, slots=True)
class WebDeps:
    """What the web app reads; it never reaches the broker itself."""

    deltas: Latest[bytes]  # the board's numbered deltas (wallboard.stream), encoded
    snapshot: Callable[[], bytes]  # the whole board, numbered as the deltas stand
    render_board: Callable[[], bytes]  # /api/board
    health: Callable[[], HealthReport]
    metrics: Callable[[], str]
    history: HistorySource | None = None
    stats: StatsSource | None = None
    today: Callable[[], date] = date.today
    press: PressDesk | None = None
    desks: tuple[str, ...] = ()
    desk_reports: DeskReports | None = None
    desk_frame: DeskFrame | None = None
    admin_token: str | None = None
    language: Literal["da", "en"] = "da"
    layout: Literal["auto", "queues", "agents"] = "auto"
    title: str = "Digital hotline"
    allow_from: tuple[IPNetwork, ...] = ()  # empty: everyone may look
    site: str = ""
    fleet: FleetReport | None = None  # /fleet: every appliance, from the broker
    admin: AdminActions | None = None  # /admin: what a logged-in supervisor may do
    secure_cookies: bool = False  # the wallboard is served over TLS


DEPS = web.AppKey("deps", WebDeps)
SOCKETS = web.AppKey("sockets", set[web.WebSocketResponse])
FANOUT = web.AppKey("fanout", BoardFanout)
PAGES = web.AppKey("pages", dict[str, str])
FRAME_SCALE = web.AppKey("frame_scale", int)  # the screen PNG's default enlargement


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.update(_SECURITY_HEADERS)
    return response


@web.middleware
async def allowed_networks(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Only `[web] allow_from` networks (and this machine, for the kiosk) see anything."""
    networks = request.app[DEPS].allow_from
    if networks:
        try:
            address = ipaddress.ip_address((request.remote or "").split("%")[0])
        except ValueError:
            raise web.HTTPForbidden(text="unknown address") from None
        if not address.is_loopback and not any(address in network for network in networks):
            raise web.HTTPForbidden(text="not allowed from this address ([web] allow_from)")
    return await handler(request)


def _page(deps: WebDeps, name: str) -> str:
    template = (STATIC / name).read_text(encoding="utf-8")
    title = deps.title.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
    # JSON in a <script> block: "</" would end the block, so every "<" is escaped.
    table = json.dumps(dict(words(deps.language)), ensure_ascii=False).replace("<", "\\u003c")
    page = template.replace("{{lang}}", deps.language).replace("{{title}}", title)
    page = page.replace("{{layout}}", deps.layout)
    return page.replace("{{words}}", table)


async def index(request: web.Request) -> web.Response:
    return web.Response(text=request.app[PAGES]["index.html"], content_type="text/html")


async def stats_page(request: web.Request) -> web.Response:
    return web.Response(text=request.app[PAGES]["stats.html"], content_type="text/html")


def _day(request: web.Request, key: str, default: date) -> date:
    text = request.query.get(key)
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{key}: expected YYYY-MM-DD") from None


async def api_history(request: web.Request) -> web.Response:
    """Today's curve of waiting callers per queue, and daily statistics for a range."""
    deps = request.app[DEPS]
    today = deps.today()
    last = _day(request, "to", today)
    first = _day(request, "from", last - timedelta(days=29))
    if first > last or (last - first).days >= MAX_HISTORY_DAYS:
        raise web.HTTPBadRequest(text=f"from..to: at most {MAX_HISTORY_DAYS} days, in order")
    if deps.history is None:
        return web.json_response({"v": 1, "today": {}, "daily": []})
    return web.json_response(await deps.history(first, last), headers={"Cache-Control": "no-store"})


async def api_stats(request: web.Request) -> web.Response:
    """Days, weeks or months per queue or municipality, and the period's ledger (/stats)."""
    deps = request.app[DEPS]
    last = _day(request, "to", deps.today())
    first = _day(request, "from", last - timedelta(days=29))
    if first > last or (last - first).days >= MAX_HISTORY_DAYS:
        raise web.HTTPBadRequest(text=f"from..to: at most {MAX_HISTORY_DAYS} days, in order")
    group, by = request.query.get("group", "day"), request.query.get("by", "queue")
    if group not in ("day", "week", "month") or by not in ("queue", "municipality"):
        raise web.HTTPBadRequest(text="group: day, week or month; by: queue or municipality")
    if deps.stats is None:
        return web.json_response({"v": 1, "series": [], "ledger": None})
    return web.json_response(
        await deps.stats(first, last, group, by),
        headers={"Cache-Control": "no-store"},
        dumps=lambda data: json.dumps(data, ensure_ascii=False),
    )


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    suffix = name[name.rfind(".") :]
    path = STATIC / name
    if "/" in name or suffix not in _CONTENT_TYPES or not path.is_file():  # no .html either
        raise web.HTTPNotFound
    return web.Response(
        body=path.read_bytes(),
        content_type=_CONTENT_TYPES[suffix],
        headers={"Cache-Control": "max-age=300"},
    )


async def api_board(request: web.Request) -> web.Response:
    body = request.app[DEPS].render_board()
    return web.Response(
        body=body, content_type="application/json", headers={"Cache-Control": "no-store"}
    )


async def healthz(request: web.Request) -> web.Response:
    report = request.app[DEPS].health()
    return web.json_response(
        {"healthy": report.healthy, "reasons": report.reasons, "health": report.payload},
        status=200 if report.healthy else 503,
        dumps=lambda data: json.dumps(data, ensure_ascii=False),
    )


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[DEPS].metrics(),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Version": "0.0.4"},
    )


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:  # not a browser: tools may connect
        return True
    return origin in (f"http://{request.host}", f"https://{request.host}")


LIMIT = web.AppKey("limit", RateLimit)
GUESSES = web.AppKey("guesses", GuessLimit)


def _authorised(request: web.Request, token: str | None) -> None:
    """State-changing requests: same origin, the admin token, within the rate."""
    if token is None:
        raise web.HTTPForbidden(text="no admin token configured ([web] admin_token_file)")
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-origin request refused")
    client = request.remote or "unknown"
    guesses = request.app[GUESSES]
    wait = guesses.blocked_for(client)
    if wait > 0:
        raise web.HTTPTooManyRequests(
            text="too many wrong tokens", headers={"Retry-After": str(math.ceil(wait))}
        )
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or not hmac.compare_digest(
        given.removeprefix("Bearer ").encode(), token.encode()
    ):
        guesses.wrong(client)
        raise web.HTTPUnauthorized(
            text="admin token required", headers={"WWW-Authenticate": "Bearer"}
        )
    limit = request.app[LIMIT]
    if not limit.allow():
        raise web.HTTPTooManyRequests(
            text="too many requests", headers={"Retry-After": str(math.ceil(limit.wait_s()))}
        )


async def press_desk(request: web.Request) -> web.Response:
    """POST /api/desks/{desk}/press[?hold_s=2]: press a desk's button, for technicians."""
    deps = request.app[DEPS]
    _authorised(request, deps.admin_token)
    desk = request.match_info["desk"]
    if deps.press is None or desk not in deps.desks:
        raise web.HTTPNotFound(text=f"no desk {desk[:40]!r}")
    try:
        held_s = min(max(float(request.query.get("hold_s", "0")), 0.0), 60.0)
    except ValueError:
        raise web.HTTPBadRequest(text="hold_s: a number of seconds") from None
    return web.json_response(
        await deps.press(desk, held_s), dumps=lambda data: json.dumps(data, ensure_ascii=False)
    )


async def api_desks(request: web.Request) -> web.Response:
    """Every desk: its agent, state, light, pending request and the lines on its screen."""
    reports = request.app[DEPS].desk_reports
    return web.json_response(
        {"v": 1, "desks": reports() if reports else []},
        headers={"Cache-Control": "no-store"},
        dumps=lambda data: json.dumps(data, ensure_ascii=False),
    )


async def desk_screen_png(request: web.Request) -> web.Response:
    """The last frame a desk's OLED showed, as a PNG (`?scale=3` to see it from afar)."""
    deps, desk = request.app[DEPS], request.match_info["desk"]
    frame = deps.desk_frame(desk) if deps.desk_frame and desk in deps.desks else None
    if frame is None:
        raise web.HTTPNotFound(text=f"no screen drawn for desk {desk[:40]!r}")
    try:
        scale = int(request.query.get("scale", request.app[FRAME_SCALE]))
    except ValueError:
        raise web.HTTPBadRequest(text="scale: a whole number 1-8") from None
    scale = min(max(scale, 1), 8)
    image = frame.convert("L").resize(
        (frame.width * scale, frame.height * scale), Image.Resampling.NEAREST
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return web.Response(
        body=out.getvalue(), content_type="image/png", headers={"Cache-Control": "no-store"}
    )


async def board_socket(request: web.Request) -> web.WebSocketResponse:
    """Sends the whole board on connect, then each delta; the client only listens, but
    for "resync" when it missed one."""
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-origin WebSocket refused")
    # No per-message deflate: on a LAN it costs more (zlib per client per board) than it
    # saves, and it adds latency.
    socket = web.WebSocketResponse(heartbeat=20, max_msg_size=4096, compress=False)
    await socket.prepare(request)
    request.app[SOCKETS].add(socket)
    fanout = request.app[FANOUT]
    try:
        async with asyncio.TaskGroup() as group:
            sender = group.create_task(fanout.follow(socket, request.transport), name="ws-send")
            async for message in socket:  # reading is how a close is noticed
                if message.type == WSMsgType.ERROR:
                    break
                if message.type == WSMsgType.TEXT and message.data == "resync":
                    fanout.resync(socket)
            sender.cancel()
    except* (ConnectionResetError, RuntimeError):
        pass  # the client went away mid-send
    finally:
        request.app[SOCKETS].discard(socket)
    return socket


async def _close_sockets(app: web.Application) -> None:
    sockets = app[SOCKETS]
    for socket in list(sockets):
        with contextlib.suppress(Exception):
            await socket.close(code=1001, message=b"server shutdown")


def create_app(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[security_headers, allowed_networks])
    app[DEPS] = deps
    app[SOCKETS] = set()
    app[FANOUT] = BoardFanout(deps.deltas, deps.snapshot)
    app[LIMIT] = RateLimit()
    app[GUESSES] = GuessLimit()
    app[PAGES] = {name: _page(deps, name) for name in ("index.html", "stats.html")}
    app[FRAME_SCALE] = 1
    app.on_shutdown.append(_close_sockets)
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", asset)
    app.router.add_get("/stats", stats_page)
    app.router.add_get("/api/board", api_board)
    app.router.add_get("/api/history", api_history)
    app.router.add_get("/api/stats", api_stats)
    app.router.add_get("/ws", board_socket)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/api/desks", api_desks)
    app.router.add_get("/api/desks/{desk}/screen.png", desk_screen_png)
    app.router.add_post("/api/desks/{desk}/press", press_desk)
    app.router.add_get("/metrics", metrics)
    Operations(
        page=lambda name: _page(deps, name),
        fleet=deps.fleet,
        admin=deps.admin,
        admin_token=deps.admin_token,
        site=deps.site,
        same_origin=_same_origin,
        guesses=app[GUESSES],
        secure_cookie=deps.secure_cookies,
    ).add_routes(app)
    return app


async def serve(
    app: web.Application,
    host: str,
    port: int,
    on_ready: Callable[[int], None] | None = None,
    tls: ssl.SSLContext | None = None,
) -> None:
    """Serve until cancelled (the caller's TaskGroup owns this); `on_ready` gets the port."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=tls)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        log.info("wallboard on %s://%s:%d", "https" if tls else "http", host, bound)
        if on_ready:
            on_ready(bound)
        await app[FANOUT].run()
    finally:
        await runner.cleanup()
