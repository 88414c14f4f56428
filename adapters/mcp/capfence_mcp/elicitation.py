"""Asking the human at the client to approve a held call, through MCP elicitation.

Used when the client declared the ``elicitation`` capability (at ``initialize``
up to protocol 2025-11-25; in each request's ``_meta`` on 2026-07-28) and the
proxy was not started with ``--no-elicitation``. Up to 2025-11-25 the proxy
sends an ``elicitation/create`` request (over stdio, or on the SSE stream of the
held call's POST in HTTP mode). On 2026-07-28 servers cannot send requests:
the proxy answers the ``tools/call`` with an ``input_required`` result carrying
the same question and a ``requestState`` it signs (HMAC over the approval id, the
tool and the arguments, with a key of this proxy process); the client retries
the identical call with the answer, which is applied only to that approval
request and only if the retry's tool and arguments are the ones signed (the
``inputResponses`` and ``requestState`` are removed before the call is decided
and forwarded). The request stays an
ordinary CapFence approval request: the human's answer is recorded through
``runtime.approvals`` (chained, bound to the call's digest, single use) and the
call is then decided again, so it runs only if the store says approved. The
answer itself is never taken as a decision. Declining denies the request (the
identical call is denied from then on); cancelling, not answering in time, or
an error leaves it pending for ``capfence approvals approve``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from capfence.approvals.requests import ApprovalRequest
from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.view import CallView

log = logging.getLogger("capfence.mcp")

PREVIEW = 2000
"""At most this many characters of the arguments are shown in the question (``approvals show`` has them all)."""
FIELD = "approve"

Answer = Literal["approved", "declined", "unanswered"]
PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
"""The 2026-07-28 per-request ``_meta`` keys: a request carrying them says who the client is and what it supports."""
INPUT_KEY = "capfence-approval"
"""The key of the proxy's question in ``inputRequests`` (and of the answer in ``inputResponses``)."""
STATE_PREFIX = "capfence:"


@dataclass(frozen=True)
class ClientInfo:
    """What the client said about itself at ``initialize``."""

    name: str = "unknown client"
    elicitation: bool = False

    @classmethod
    def from_initialize(cls, params: dict[str, Any]) -> ClientInfo:
        info = params.get("clientInfo")
        name = info.get("name") if isinstance(info, dict) else None
        capabilities = params.get("capabilities")
        elicitation = isinstance(capabilities, dict) and isinstance(capabilities.get("elicitation"), dict)
        return cls(name if isinstance(name, str) and name else "unknown client", elicitation)

    @classmethod
    def from_request(cls, params: dict[str, Any]) -> ClientInfo | None:
        """What a 2026-07-28 request's ``_meta`` says about the client; None for a request without that envelope."""
        meta = params.get("_meta")
        if not isinstance(meta, dict) or PROTOCOL_VERSION not in meta:
            return None
        return cls.from_initialize(
            {"clientInfo": meta.get(CLIENT_INFO), "capabilities": meta.get(CLIENT_CAPABILITIES)}
        )

    @property
    def approver(self) -> str:
        """Who is recorded as having decided: the client says who it is; the proxy cannot check it."""
        return f"mcp-elicitation:{self.name}"


def question(request: ApprovalRequest, view: CallView) -> dict[str, Any]:
    """The ``elicitation/create`` params for ``request`` (form mode, one boolean)."""
    arguments = (
        request.payload
        if len(request.payload) <= PREVIEW
        else request.payload[:PREVIEW] + " …(cut; see capfence approvals show)"
    )
    message = (
        f"CapFence holds a tool call for your approval (request {request.id}).\n"
        f"Tool: {view.tool}\nCapability: {view.capability}\nAgent: {view.agent_id}\n"
        f"Rule: {request.rule or '-'}\nArguments: {arguments}\n"
        "Approve it to run it once with exactly these arguments."
    )
    schema = {
        "type": "object",
        "properties": {
            FIELD: {"type": "boolean", "title": "Approve this call", "description": f"Run {view.tool} once"}
        },
        "required": [FIELD],
    }
    return {"message": message, "requestedSchema": schema}


def answer_of(response: dict[str, Any] | None) -> Answer:
    """What the human said: approved only for ``accept`` with ``approve: true``; ``decline`` or ``approve: false`` declines."""
    if response is None or "result" not in response or not isinstance(response["result"], dict):
        return "unanswered"
    result = response["result"]
    action = result.get("action")
    content = result.get("content")
    if action == "accept" and isinstance(content, dict) and content.get(FIELD) is True:
        return "approved"
    if action == "decline" or (
        action == "accept" and isinstance(content, dict) and content.get(FIELD) is False
    ):
        return "declined"
    return "unanswered"


@dataclass(frozen=True)
class Retry:
    """The client's answer carried by the retry of a call the proxy answered ``input_required``."""

    approval_id: str
    response: dict[str, Any]
    """``{"result": <the ElicitResult>}``, as :func:`answer_of` reads it."""


@dataclass(frozen=True)
class RoundTrips:
    """Issues and checks the ``requestState`` of the proxy's own ``input_required`` results (2026-07-28)."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def _mac(self, approval_id: str, tool: str, arguments: dict[str, Any]) -> str:
        signed = json.dumps(
            [approval_id, tool, arguments], sort_keys=True, separators=(",", ":"), ensure_ascii=True
        )
        return hmac.new(self.key, signed.encode("ascii"), hashlib.sha256).hexdigest()

    def input_required(
        self, request: ApprovalRequest, view: CallView, tool: str, arguments: dict[str, Any]
    ) -> dict[str, Any]:
        """The ``tools/call`` result asking the question; the retry carries the answer."""
        state = f"{STATE_PREFIX}{request.id}:{self._mac(request.id, tool, arguments)}"
        ask = {"method": "elicitation/create", "params": {"mode": "form", **question(request, view)}}
        return {"resultType": "input_required", "inputRequests": {INPUT_KEY: ask}, "requestState": state}

    def take(self, params: dict[str, Any]) -> tuple[dict[str, Any], Retry | None]:
        """``params`` without the proxy's own ``requestState``/``inputResponses``, and the answer if the state is genuine.

        A ``requestState`` that is not the proxy's (the server's own round trip) is left in place for the server.
        """
        state = params.get("requestState")
        if not isinstance(state, str) or not state.startswith(STATE_PREFIX):
            return params, None
        stripped = {k: v for k, v in params.items() if k not in ("requestState", "inputResponses")}
        approval_id, _, mac = state.removeprefix(STATE_PREFIX).rpartition(":")
        tool, arguments = stripped.get("name"), stripped.get("arguments", {})
        responses = params.get("inputResponses")
        answer = responses.get(INPUT_KEY) if isinstance(responses, dict) else None
        if not isinstance(tool, str) or not isinstance(arguments, dict) or not isinstance(answer, dict):
            return stripped, None
        if not hmac.compare_digest(mac, self._mac(approval_id, tool, arguments)):
            log.warning(
                "ignored an approval answer whose requestState does not match the call (or another proxy issued it)"
            )
            return stripped, None
        return stripped, Retry(approval_id, {"result": answer})


async def apply_answer(
    approvals: Any, request_id: str, response: dict[str, Any] | None, approver: str
) -> bool:
    """Record the human's answer to ``request_id`` in the approval queue; False if there was no answer (it stays pending).

    The answer is never a decision: the call is decided again from the store afterwards.
    """
    answer = answer_of(response)
    if answer == "unanswered":
        return False
    decide = approvals.approve if answer == "approved" else approvals.deny
    try:
        await asyncio.to_thread(decide, request_id, by=approver, comment="answered through MCP elicitation")
    except Exception as exc:  # noqa: BLE001 - e.g. decided elsewhere meanwhile: the store's state decides
        log.warning("recording the elicitation answer for %s failed: %s", request_id, exc)
    return True


async def record_answer(
    approvals: Any,
    request_id: str,
    response: dict[str, Any] | None,
    approver: str,
    binding: Binding,
    arguments: dict[str, Any],
    held: Decision,
) -> Decision:
    """:func:`apply_answer`, then the call decided again from the store (``held`` unchanged if unanswered)."""
    if not await apply_answer(approvals, request_id, response, approver):
        return held
    decision, _view = await asyncio.to_thread(binding.decide, arguments)
    return decision


async def approval_request(approvals: Any, held: Decision) -> ApprovalRequest | None:
    """The stored request of a held decision (None if it cannot be read: the call stays held, the retry path still works)."""
    try:
        return await asyncio.to_thread(approvals.get, str(held.approval_id))
    except Exception as exc:  # noqa: BLE001
        log.error("cannot read approval request %s: %s", held.approval_id, exc)
        return None
