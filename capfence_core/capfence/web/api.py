"""The approval API: ``POST /api/v1/approvals`` for chat bots and ticketing systems.

Body (JSON)::

    {"request_id": "apr_...", "verdict": "approve" | "deny", "comment": "ticket OPS-12",
     "nonce": "<random, single use>", "approver": "alice"}

Authentication (:class:`capfence.web.auth.ApiClients`): a bearer secret, or
an HMAC-SHA256 signature over ``"<timestamp>.<body>"`` with the client's
name in ``X-CapFence-Client`` (then ``nonce`` is required and single-use,
and ``approver`` is taken from the signed body). Answers:

* ``200 {"request_id", "status", "decided_by"}``: recorded;
* ``401``: not authenticated (wrong secret or signature, stale timestamp, reused nonce);
* ``400``: malformed body; ``404``: no such request;
* ``409``: the request is no longer pending (someone else decided first, or it expired).
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from capfence.approvals.requests import ApprovalStateError
from capfence.errors import AuditError
from capfence.web.auth import Unauthorized
from capfence.web.console import Console

MAX_BODY = 64 * 1024


async def decide(request: Request) -> JSONResponse:
    console: Console = request.app.state.console
    body = await request.body()
    if len(body) > MAX_BODY:
        return _error(413, "body too large")
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return _error(400, "the body must be a JSON object")
    if not isinstance(payload, dict):
        return _error(400, "the body must be a JSON object")
    try:
        identity = console.api.authenticate(request.headers, body, payload)
    except Unauthorized as exc:
        return _error(401, str(exc))
    request_id, verdict = payload.get("request_id"), payload.get("verdict")
    if not isinstance(request_id, str) or verdict not in ("approve", "deny"):
        return _error(400, "'request_id' (string) and 'verdict' ('approve' or 'deny') are required")
    comment = payload.get("comment")
    comment = str(comment)[:2000] if comment else None
    return await run_in_threadpool(_record, console, request_id, str(verdict), identity, comment)


def _record(
    console: Console, request_id: str, verdict: str, identity: str, comment: str | None
) -> JSONResponse:
    queue = console.approvals()
    try:
        decided = getattr(queue, verdict)(request_id, by=identity, comment=comment)
    except ApprovalStateError as exc:
        return _error(404 if "no approval request" in str(exc) else 409, str(exc))
    except AuditError as exc:
        return _error(503, f"could not record the decision: {exc}")
    return JSONResponse(
        {"request_id": decided.id, "status": decided.status, "decided_by": decided.decided_by}
    )


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
