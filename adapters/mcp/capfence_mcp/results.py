"""What the model reads when a ``tools/call`` is not forwarded: a tool result with ``isError: true``.

Never a silent drop and never a protocol error (which some clients treat as
fatal to the session): the model gets the decision, the rule and the reason as
text, and for a held call the approval request and how to approve it.
"""

from __future__ import annotations

import shlex
from typing import Any

from capfence.call.decision import Decision

META_KEY = "io.capfence/decision"
"""Key in the result's ``_meta`` with the decision as data (action, rule, reason, approval request)."""


def approve_command(approval_id: str, audit_log: str | None) -> str:
    where = f" --audit-log {shlex.quote(audit_log)}" if audit_log else ""
    return f"capfence approvals approve {approval_id}{where}"


def blocked_text(decision: Decision, audit_log: str | None = None) -> str:
    """The decision message; for a held call also how a human approves it and what to do then."""
    text = decision.message()
    if decision.action == "require_approval" and decision.approval_id:
        text += (
            f"\nA human must approve this call: {approve_command(decision.approval_id, audit_log)}"
            " — then call the tool again with exactly the same arguments; it will run once."
        )
    return text


def blocked_result(decision: Decision, audit_log: str | None = None) -> dict[str, Any]:
    """A ``CallToolResult`` (as JSON) for a call that was not forwarded."""
    meta = {
        "action": decision.action,
        "rule": decision.rule,
        "reason": decision.reason,
        "approval_id": decision.approval_id,
    }
    return {
        "content": [{"type": "text", "text": blocked_text(decision, audit_log)}],
        "isError": True,
        # required on 2026-07-28; earlier revisions' clients ignore it (the SDK always sends it)
        "resultType": "complete",
        "_meta": {META_KEY: {key: value for key, value in meta.items() if value is not None}},
    }
