"""The console's form handlers (POST): sign in and out, approve or deny, re-verify the chain, run a replay.

Every handler here except sign-in runs only for a signed-in session whose
form carried the session's CSRF token (checked in :mod:`capfence.web.app`).
Approve and deny go through :class:`~capfence.approvals.requests.Approvals`, the
same state machine as ``capfence approvals``: one transaction per
transition, so of two concurrent decisions exactly one wins and the other is
told the request is no longer pending. The approver recorded in the chain is
the session's identity.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from capfence.approvals.requests import ApprovalStateError
from capfence.audit.query import parse_when
from capfence.errors import AuditError, PolicyError
from capfence.web import pages, replaying
from capfence.web.auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, Session, Unauthorized
from capfence.web.console import Console
from capfence.web.policies import OutsidePolicyDir, listing, load_named, load_pasted, problem_lines
from capfence.web.render import render

MAX_COMMENT = 2000


def _safe_next(target: str) -> str:
    """Only a local path (no scheme, no ``//host``): no open redirect after sign-in."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def login_form(request: Request, console: Console, error: str | None = None, status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(24)
    body = render(
        console.templates,
        "login.html",
        login_csrf=nonce,
        next=_safe_next(request.query_params.get("next", "/")),
        error=error,
    )
    response = HTMLResponse(body, status_code=status)
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookies,
    )
    return response


def login(request: Request, console: Console, form: Mapping[str, str]) -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, form.get("csrf", "")):
        return login_form(request, console, "The sign-in form expired; try again.", 403)
    try:
        session = console.sessions.login(form.get("token", "").strip())
    except Unauthorized:
        return login_form(request, console, "Wrong token.", 403)
    response = RedirectResponse(_safe_next(form.get("next", "/")), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


def logout(request: Request, console: Console, session: Session, form: Mapping[str, str]) -> Response:
    console.sessions.logout(session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def decide(request: Request, console: Console, session: Session, form: Mapping[str, str]) -> Response:
    """Approve or deny one request as the signed-in user."""
    request_id = request.path_params["request_id"]
    verdict = form.get("verdict")
    if verdict not in ("approve", "deny"):
        return pages.approval(request, console, session, "Choose approve or deny.", 400)
    comment = form.get("comment", "").strip()[:MAX_COMMENT] or None
    try:
        decided = getattr(console.approvals(), verdict)(request_id, by=session.identity, comment=comment)
    except ApprovalStateError as exc:
        return pages.approval(request, console, session, str(exc), 409)
    except AuditError as exc:
        return pages.approval(request, console, session, f"Could not record the decision: {exc}", 503)
    return RedirectResponse(f"/approvals/{decided.id}?done={decided.status}", status_code=303)


def reverify(request: Request, console: Console, session: Session, form: Mapping[str, str]) -> Response:
    console.chain.start()
    return RedirectResponse(_safe_next(form.get("next", "/")), status_code=303)


def replay(request: Request, console: Console, session: Session, form: Mapping[str, str]) -> Response:
    """Validate the chosen or pasted policy, then replay the window and show the diff."""
    values = {name: form.get(name, "") for name in ("policy", "pasted", "since", "until")}
    context: dict[str, Any] = {
        "page": "replay",
        "files": listing(console.settings.policy_dir),
        "values": values,
        "outcome": None,
    }
    try:
        policy = (
            load_pasted(console.settings.policy_dir, values["pasted"], console.plugins.conditions)
            if values["pasted"].strip()
            else load_named(console.settings.policy_dir, values["policy"], console.plugins.conditions)
        )
        since = parse_when(values["since"]) if values["since"].strip() else None
        until = parse_when(values["until"]) if values["until"].strip() else None
    except PolicyError as exc:
        return pages.respond(
            console,
            session,
            "replay.html",
            422,
            problems=problem_lines(exc, console.settings.policy_dir),
            **context,
        )
    except (OutsidePolicyDir, ValueError) as exc:
        return pages.respond(console, session, "replay.html", 422, problems=[str(exc)], **context)
    outcome = replaying.run(console.source, policy, since, until)
    context["outcome"] = outcome
    return pages.respond(console, session, "replay.html", problems=[], policy=policy, **context)
