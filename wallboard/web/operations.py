"""For the people who look after the hotline: `/fleet` for technicians, `/admin` for
supervisors.

`/fleet` and `GET /api/fleet` show every appliance from their retained status and health
(read-only, like the wallboard). `/admin` asks once for the admin token on a login form
and keeps a session in an HttpOnly, SameSite=Strict cookie; every change it makes is a
same-origin POST carrying the session's CSRF token in a header (the page's own fetch:
no form can post here, the CSP says `form-action 'none'`). Sessions live in memory:
a restart asks for the token again.
"""

from __future__ import annotations

import hmac
import json
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote

from aiohttp import web

from appliance.core.contract import MAX_TICKER_CHARS
from appliance.core.errors import HotlineError, NotConnectedError, PublishRefusedError

COOKIE = "hotline_admin"
SESSION_S = 12 * 3600  # a supervisor's evening; then the token again
MAX_SESSIONS = 32
MAX_ROTA_FILE = 512 * 1024


class AdminActions(Protocol):
    """What /admin may do; the appliance does it over its broker link."""

    async def post_message(
        self, target: str, text: str, level: str, expires: datetime | None
    ) -> None: ...

    async def clear_message(self, target: str) -> None: ...

    async def publish_rota(self, name: str, data: bytes) -> list[dict[str, Any]]: ...


FleetReport = Callable[[], dict[str, Any]]


@dataclass
class Sessions:
    """Admin sessions: an unguessable id in the cookie, a CSRF token for the page."""

    clock: Callable[[], float] = time.monotonic
    _open: dict[str, tuple[str, float]] = field(default_factory=dict)  # id → (csrf, until)

    def start(self) -> tuple[str, str]:
        now = self.clock()
        self._open = {k: v for k, v in self._open.items() if v[1] > now}
        while len(self._open) >= MAX_SESSIONS:  # the oldest goes
            self._open.pop(min(self._open, key=lambda k: self._open[k][1]))
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._open[session] = (csrf, now + SESSION_S)
        return session, csrf

    def csrf(self, session: str | None) -> str | None:
        """The session's CSRF token, if the session is open."""
        found = self._open.get(session or "")
        if found is None or found[1] <= self.clock():
            return None
        return found[0]

    def end(self, session: str | None) -> None:
        self._open.pop(session or "", None)


def _limit(request: web.Request, most: int) -> None:
    if request.content_length is not None and request.content_length > most:
        raise web.HTTPRequestEntityTooLarge(max_size=most, actual_size=request.content_length)


def _reply(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(
        data,
        status=status,
        headers={"Cache-Control": "no-store"},
        dumps=lambda value: json.dumps(value, ensure_ascii=False),
    )


@dataclass
class Operations:
    """The routes of /fleet and /admin, on the wallboard's app (`add_routes`)."""

    page: Callable[[str], str]
    fleet: FleetReport | None
    admin: AdminActions | None
    admin_token: str | None
    site: str
    same_origin: Callable[[web.Request], bool]
    guesses: Any  # limits.GuessLimit: wrong tokens, per address, shared with the API's
    secure_cookie: bool
    sessions: Sessions = field(default_factory=Sessions)

    def add_routes(self, app: web.Application) -> None:
        pages = {name: self.page(name) for name in ("fleet.html", "admin.html")}

        async def fleet_page(_request: web.Request) -> web.Response:
            return web.Response(text=pages["fleet.html"], content_type="text/html")

        async def admin_page(_request: web.Request) -> web.Response:
            return web.Response(text=pages["admin.html"], content_type="text/html")

        app.router.add_get("/fleet", fleet_page)
        app.router.add_get("/api/fleet", self.api_fleet)
        app.router.add_get("/admin", admin_page)
        app.router.add_get("/admin/api/session", self.session)
        app.router.add_post("/admin/login", self.login)
        app.router.add_post("/admin/logout", self.logout)
        app.router.add_post("/admin/api/message", self.message)
        app.router.add_post("/admin/api/rota", self.rota)

    async def api_fleet(self, _request: web.Request) -> web.Response:
        return _reply(self.fleet() if self.fleet else {"generated_at": None, "appliances": []})

    def _csrf(self, request: web.Request) -> str:
        """The session's CSRF token, or 401: no session (or an expired one)."""
        csrf = self.sessions.csrf(request.cookies.get(COOKIE))
        if csrf is None:
            raise web.HTTPUnauthorized(text="log in first")
        return csrf

    def _from_here(self, request: web.Request) -> None:
        """A browser's request from this page (a missing Origin is not taken as one)."""
        if request.headers.get("Origin") is None or not self.same_origin(request):
            raise web.HTTPForbidden(text="cross-origin request refused")

    def _checked_session(self, request: web.Request) -> None:
        """Same origin, an open session, and its CSRF token in the header."""
        self._from_here(request)
        csrf = self._csrf(request)
        given = request.headers.get("X-CSRF-Token", "").encode()
        if not hmac.compare_digest(given, csrf.encode()):
            raise web.HTTPForbidden(text="CSRF token missing or wrong")

    def _checked_change(self, request: web.Request) -> AdminActions:
        """A change: a checked session, and an appliance that can publish."""
        self._checked_session(request)
        if self.admin is None:
            raise web.HTTPServiceUnavailable(text="this appliance cannot publish")
        return self.admin

    async def session(self, request: web.Request) -> web.Response:
        return _reply({"csrf": self._csrf(request), "site": self.site})

    async def login(self, request: web.Request) -> web.Response:
        if self.admin_token is None:
            raise web.HTTPForbidden(text="no admin token configured ([web] admin_token_file)")
        self._from_here(request)
        given = str((await _body(request)).get("token", "")).strip()
        # Checked, compared and counted with no await between: parallel guesses all count.
        client = request.remote or "unknown"
        wait = self.guesses.blocked_for(client)
        if wait > 0:
            raise web.HTTPTooManyRequests(
                text="too many wrong tokens", headers={"Retry-After": str(math.ceil(wait))}
            )
        if not hmac.compare_digest(given.encode(), self.admin_token.encode()):
            self.guesses.wrong(client)
            raise web.HTTPUnauthorized(text="wrong admin token")
        opened, csrf = self.sessions.start()
        reply = _reply({"csrf": csrf, "site": self.site})
        reply.set_cookie(
            COOKIE, opened, max_age=SESSION_S, path="/", httponly=True, samesite="Strict",
            secure=self.secure_cookie,
        )  # fmt: skip
        return reply

    async def logout(self, request: web.Request) -> web.Response:
        self._checked_session(request)
        self.sessions.end(request.cookies.get(COOKIE))
        reply = _reply({"result": "logged out"})
        reply.del_cookie(COOKIE, path="/")
        return reply

    async def message(self, request: web.Request) -> web.Response:
        admin = self._checked_change(request)
        body = await _body(request)
        target = body.get("target", self.site)
        if target not in (self.site, "all"):  # this centre's ticker, or every centre's
            raise web.HTTPBadRequest(text=f"target: {self.site} or all")
        clear = body.get("clear", False) is True
        text, level = body.get("text", ""), body.get("level", "info")
        if not isinstance(text, str) or not isinstance(level, str):
            raise web.HTTPBadRequest(text="text and level: strings")
        text = text.strip()
        expires = _expiry(body.get("expires"))
        if not clear:
            if not text or len(text) > MAX_TICKER_CHARS:
                raise web.HTTPBadRequest(text=f"text: 1 to {MAX_TICKER_CHARS} characters")
            if level not in ("info", "warning"):
                raise web.HTTPBadRequest(text="level: info or warning")
            if expires is not None and expires <= datetime.now(expires.tzinfo):
                raise web.HTTPBadRequest(text="expires: a time still to come")
        try:
            if clear:
                await admin.clear_message(target)
                return _reply({"result": "cleared", "target": target})
            await admin.post_message(target, text, level, expires)
        except HotlineError as error:  # not connected, or refused by the broker
            raise web.HTTPServiceUnavailable(text=str(error)) from None
        return _reply({"result": "posted", "target": target, "text": text})

    async def rota(self, request: web.Request) -> web.Response:
        admin = self._checked_change(request)
        _limit(request, MAX_ROTA_FILE)
        name = unquote(request.headers.get("X-File-Name", "rota.csv"))[:100]
        try:
            days = await admin.publish_rota(name, await request.read())
        except (NotConnectedError, PublishRefusedError) as error:
            raise web.HTTPServiceUnavailable(text=str(error)) from None
        except HotlineError as error:  # every mistake in the file: nothing was published
            raise web.HTTPBadRequest(text=str(error)) from None
        return _reply({"result": "published", "days": days})


async def _body(request: web.Request) -> dict[str, Any]:
    _limit(request, 16 * 1024)
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _expiry(value: object) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise web.HTTPBadRequest(text="expires: an ISO time with its offset") from None
    if moment.tzinfo is None:
        raise web.HTTPBadRequest(text="expires: an ISO time with its offset")
    return moment


__all__ = ["COOKIE", "AdminActions", "FleetReport", "Operations", "Sessions"]
