"""The ASGI application of ``capfence serve``: routes, sign-in checks, CSRF checks and security headers.

* Every page needs a session (else a redirect to ``/login``); every form post
  needs a session *and* its CSRF token (else 403) and, when the browser sends
  an ``Origin``, the console's own origin.
* ``--read-only`` does not register the routes that change state (approve,
  deny, the approval API): they answer 404/405, and the pages show no buttons.
* Responses carry a strict Content-Security-Policy (scripts and styles only
  from ``/static``), ``X-Frame-Options: DENY``, ``nosniff``, no referrer to other sites, no
  caching, and ``Server-Timing`` with the time spent in the application.
* The ``Host`` header must be one of ``allowed_hosts`` (DNS rebinding).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from capfence.web import actions, api, pages
from capfence.web.auth import SESSION_COOKIE, Session, csrf_ok
from capfence.web.console import Console, Settings

Endpoint = Callable[[Request], Awaitable[Response]]
PageHandler = Callable[[Request, Console, Session], Response]
FormHandler = Callable[[Request, Console, Session, Mapping[str, str]], Response]
MAX_FORM_FIELDS = 20
MAX_FORM_BYTES = 2 * 1024 * 1024

HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def _console(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def _session(request: Request) -> Session | None:
    return _console(request).sessions.get(request.cookies.get(SESSION_COOKIE))


def page(handler: PageHandler) -> Endpoint:
    """A GET page: signed-in sessions only (others are sent to sign in)."""

    async def endpoint(request: Request) -> Response:
        session = _session(request)
        if session is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return await run_in_threadpool(handler, request, _console(request), session)

    return endpoint


async def _form(request: Request) -> dict[str, str] | None:
    """The posted fields as text (None when the body is too large or not a form)."""
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        return None
    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except Exception:  # noqa: BLE001 - a malformed body is refused below
        return None
    return {key: value for key, value in form.items() if not isinstance(value, UploadFile)}


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def form_action(handler: FormHandler) -> Endpoint:
    """A state-changing POST: a session, its CSRF token in the form, and (when sent) our own Origin."""

    async def endpoint(request: Request) -> Response:
        session = _session(request)
        if session is None:
            return PlainTextResponse("Sign in first.", status_code=403)
        if not _same_origin(request):
            return PlainTextResponse("Cross-origin request refused.", status_code=403)
        form = await _form(request)
        if form is None or not csrf_ok(session, form.get("csrf")):
            return PlainTextResponse("Missing or wrong CSRF token.", status_code=403)
        return await run_in_threadpool(handler, request, _console(request), session, form)

    return endpoint


async def login_page(request: Request) -> Response:
    if _session(request) is not None:
        return RedirectResponse("/", status_code=303)
    return await run_in_threadpool(actions.login_form, request, _console(request))


async def login_post(request: Request) -> Response:
    if not _same_origin(request):
        return PlainTextResponse("Cross-origin request refused.", status_code=403)
    form = await _form(request)
    if form is None:
        return PlainTextResponse("Bad form.", status_code=400)
    return await run_in_threadpool(actions.login, request, _console(request), form)


def routes(read_only: bool) -> list[Route | Mount]:
    found: list[Route | Mount] = [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_post, methods=["POST"]),
        Route("/logout", form_action(actions.logout), methods=["POST"]),
        Route("/", page(pages.overview)),
        Route("/decisions", page(pages.decisions)),
        Route("/decisions/{seq:int}", page(pages.decision)),
        Route("/approvals", page(pages.approvals)),
        Route("/approvals/{request_id}", page(pages.approval)),
        Route("/replay", page(pages.replay_form), methods=["GET"]),
        Route("/replay", form_action(actions.replay), methods=["POST"]),
        Route("/verify", form_action(actions.reverify), methods=["POST"]),
        Mount("/static", StaticFiles(packages=[("capfence.web", "static")]), name="static"),
    ]
    if not read_only:
        found += [
            Route("/approvals/{request_id}/decide", form_action(actions.decide), methods=["POST"]),
            Route("/api/v1/approvals", api.decide, methods=["POST"]),
        ]
    return found


class HostCheck:
    """Refuse requests whose ``Host`` is not one of ``allowed`` (``*`` allows any): DNS rebinding. IPv6 literals work."""

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app, self.allowed = app, {name.strip("[]").lower() for name in allowed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "*" not in self.allowed:
            raw = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1")
            try:
                name = urlsplit(f"//{raw}").hostname or ""
            except ValueError:
                name = ""
            if name.lower() not in self.allowed:
                await PlainTextResponse("Invalid host header", status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeaders:
    """Adds :data:`HEADERS` and ``Server-Timing: app;dur=<ms>`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in present]
                headers.append(
                    (b"server-timing", f"app;dur={(time.perf_counter() - started) * 1000:.1f}".encode())
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(settings: Settings, *, warm_up: bool = True) -> Starlette:
    """The console for ``settings``; ``warm_up`` builds the overview summary and verifies the chain in the background."""
    console = Console(settings)
    middleware = [Middleware(SecurityHeaders), Middleware(HostCheck, allowed=settings.allowed_hosts)]
    app = Starlette(routes=routes(settings.read_only), middleware=middleware)
    app.state.console = console
    if warm_up:
        console.warm_up()
    return app


def console_of(app: Any) -> Console:
    """The :class:`Console` behind an app made by :func:`create_app` (tests, the benchmark)."""
    console: Console = app.state.console
    return console
