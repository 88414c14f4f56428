"""Asking the human at the client to approve a held call, through MCP elicitation.

Used when the client declared the ``elicitation`` capability at ``initialize``
(and the proxy was not started with ``--no-elicitation``). The request stays an
ordinary CapFence approval request: the human's answer is recorded through
``runtime.approvals`` (chained, bound to the call's digest, single use) and the
call is then decided again, so it runs only if the store says approved. The
answer itself is never taken as a decision. Declining denies the request (the
identical call is denied from then on); cancelling, not answering in time, or
an error leaves it pending for ``capfence approvals approve``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from capfence.approvals import ApprovalRequest
from capfence.policy.view import CallView

PREVIEW = 2000
"""At most this many characters of the arguments are shown in the question (``approvals show`` has them all)."""
FIELD = "approve"

Answer = Literal["approved", "declined", "unanswered"]


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

    @property
    def approver(self) -> str:
        """Who is recorded as having decided: the client says who it is; the proxy cannot check it."""
        return f"mcp-elicitation:{self.name}"


def question(request: ApprovalRequest, view: CallView) -> dict[str, Any]:
    """The ``elicitation/create`` params for ``request`` (form mode, one boolean)."""
    arguments = request.payload if len(request.payload) <= PREVIEW else request.payload[:PREVIEW] + " …(cut; see capfence approvals show)"
    message = (
        f"CapFence holds a tool call for your approval (request {request.id}).\n"
        f"Tool: {view.tool}\nCapability: {view.capability}\nAgent: {view.agent_id}\n"
        f"Rule: {request.rule or '-'}\nArguments: {arguments}\n"
        "Approve it to run it once with exactly these arguments."
    )
    schema = {
        "type": "object",
        "properties": {FIELD: {"type": "boolean", "title": "Approve this call", "description": f"Run {view.tool} once"}},
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
    if action == "decline" or (action == "accept" and isinstance(content, dict) and content.get(FIELD) is False):
        return "declined"
    return "unanswered"
