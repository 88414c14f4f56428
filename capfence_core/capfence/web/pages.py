"""The console's pages (GET): overview, decisions, one decision, approvals, one approval request, replay form.

Each handler receives the console, the signed-in session and the request, and
returns a rendered page; the decorators in :mod:`capfence.web.app` have
already checked the session.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from capfence.audit.query import DECISIONS, Filters, parse_when
from capfence.web.auth import Session
from capfence.web.chart import COLORS, stacked_bars
from capfence.web.console import Console
from capfence.web.policies import listing
from capfence.web.queries import DecisionQuery, decision_detail, decisions_page
from capfence.web.render import render
from capfence.web.summary import WINDOWS

FILTER_FIELDS = ("agent", "capability", "tool", "decision", "rule", "since", "until")


def respond(
    console: Console, session: Session, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """Render ``template`` with what every page needs (the session's CSRF token, read-only mode, pending count)."""
    pending = console.source.one(
        "SELECT count(*) AS n FROM approvals WHERE status = 'pending' AND expires > ?", [_now()]
    )
    body = render(
        console.templates,
        template,
        session=session,
        csrf=session.csrf,
        read_only=console.read_only,
        pending_count=int(pending["n"]) if pending else 0,
        log_location=console.source.location,
        **context,
    )
    return HTMLResponse(body, status_code=status)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def overview(request: Request, console: Console, session: Session) -> Response:
    window = request.query_params.get("window", "24h")
    window = window if window in WINDOWS else "24h"
    console.summary.refresh(wait=False, batches=1)
    view = console.summary.overview(window)
    pending = console.source.rows(
        "SELECT * FROM approvals WHERE status = 'pending' AND expires > ? ORDER BY created LIMIT 10", [_now()]
    )
    return respond(
        console,
        session,
        "overview.html",
        page="overview",
        view=view,
        chart=stacked_bars(view.series),
        colors=COLORS,
        windows=list(WINDOWS),
        pending=pending,
        chain=console.chain.status,
    )


def _filters(params: Any) -> tuple[DecisionQuery, dict[str, str], list[str]]:
    """The page's query from the URL (``values``: what the form shows again; ``errors``: what was not understood)."""
    values = {name: str(params.get(name, "")).strip() for name in FILTER_FIELDS}
    errors: list[str] = []
    when: dict[str, str | None] = {"since": None, "until": None}
    for name in ("since", "until"):
        if values[name]:
            try:
                when[name] = parse_when(values[name])
            except ValueError as exc:
                errors.append(str(exc))
    decision = values["decision"]
    if decision and decision not in DECISIONS:
        errors.append(f"unknown decision {decision!r}")
        decision = ""
    filters = Filters(
        decisions=(decision,) if decision else (),
        agent=values["agent"] or None,
        capability=values["capability"] or None,
        tool=values["tool"] or None,
        since=when["since"],
        until=when["until"],
    )
    before = params.get("before", "")
    return (
        DecisionQuery(filters, values["rule"] or None, int(before) if str(before).isdigit() else None),
        values,
        errors,
    )


def decisions(request: Request, console: Console, session: Session) -> Response:
    query, values, errors = _filters(request.query_params)
    page = decisions_page(console.source, query)
    keep = {name: value for name, value in values.items() if value}
    return respond(
        console,
        session,
        "decisions.html",
        page="decisions",
        rows=page.rows,
        next_before=page.next_before,
        searched_to=page.searched_to,
        values=values,
        keep=keep,
        errors=errors,
        decisions=DECISIONS,
        first=query.before is None,
    )


def decision(request: Request, console: Console, session: Session) -> Response:
    seq = int(request.path_params["seq"])
    detail = decision_detail(console.source, seq)
    if detail is None:
        return respond(
            console,
            session,
            "error.html",
            404,
            page="decisions",
            message=f"No record with sequence number {seq}.",
        )
    location = console.policies.locate(detail.record.get("rule"), detail.record.get("policy_digest"))
    return respond(
        console,
        session,
        "decision.html",
        page="decisions",
        d=detail,
        r=detail.record,
        location=location,
        chain=console.chain.status,
    )


def approvals(request: Request, console: Console, session: Session) -> Response:
    now = _now()
    pending = console.source.rows(
        "SELECT * FROM approvals WHERE status = 'pending' AND expires > ? ORDER BY created", [now]
    )
    history = console.source.rows(
        "SELECT * FROM approvals WHERE status <> 'pending' OR expires <= ?"
        " ORDER BY coalesce(decided_at, consumed_at, expires) DESC LIMIT 200",
        [now],
    )
    return respond(
        console, session, "approvals.html", page="approvals", pending=pending, history=history, now=now
    )


def approval(
    request: Request, console: Console, session: Session, message: str | None = None, status: int = 200
) -> Response:
    request_id = request.path_params["request_id"]
    row = console.source.one("SELECT * FROM approvals WHERE id = ?", [request_id])
    if row is None:
        return respond(
            console, session, "error.html", 404, page="approvals", message="No such approval request."
        )
    filed = console.source.one("SELECT environment FROM records WHERE seq = ?", [row["decision_seq"]])
    events = console.source.rows(
        "SELECT * FROM records WHERE ref = ? AND kind = 'approval' ORDER BY seq", [row["decision_seq"]]
    )
    expired = row["status"] == "pending" and str(row["expires"]) <= _now()
    done = request.query_params.get("done")
    return respond(
        console,
        session,
        "approval.html",
        status,
        page="approvals",
        a=row,
        environment=filed["environment"] if filed else None,
        events=events,
        expired=expired,
        message=message,
        done=done if done in ("approved", "denied") else None,
    )


def replay_form(request: Request, console: Console, session: Session) -> Response:
    return respond(
        console,
        session,
        "replay.html",
        page="replay",
        files=listing(console.settings.policy_dir),
        values={"policy": "", "pasted": "", "since": "24h", "until": ""},
        outcome=None,
        problems=[],
    )
