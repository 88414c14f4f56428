"""Pause a LangGraph run for a held call: ``interrupt()`` carrying the approval request.

When a call is held (``require_approval``) inside a graph that has a
checkpointer, the gate (the middleware, or a gated tool run by a ``ToolNode``)
calls :func:`langgraph.types.interrupt` with :func:`approval_request`, a plain
JSON-able dict. The run stops; ``result["__interrupt__"]`` (and
``graph.get_state(config).interrupts``) carries the request.

A human decides in CapFence's store (``capfence approvals approve ID``,
``runtime.approvals.approve(ID, by=...)`` or an approver), then the caller
resumes with ``graph.invoke(Command(resume=...), config)``. LangGraph runs the
same tool call again and the gate decides it again, *from the store*:

* approved: the call is allowed (the approval is consumed) and the tool runs once;
* denied, or expired without a decision: an error ``ToolMessage``; the tool never runs;
* still pending: ``interrupt()`` now returns the resume value, which is *not*
  trusted (whatever it says); the model gets an error ``ToolMessage`` saying
  the request is still pending.

No second request is filed for the re-run, and a re-run that is still held
(or denied) reuses its recorded decision: both are keyed by the call's
``tool_call_id`` and its exact arguments in the store (:mod:`capfence.approvals.requests`).
An approved re-run is a new ``allow`` decision record: it is the one execution.

Without a checkpointer a graph cannot be resumed, so the gate does not
interrupt: the model gets the error ``ToolMessage`` naming the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import ToolMessage

from capfence.call.decision import Decision
from capfence.call.gate import Binding

INTERRUPT_TYPE = "capfence.approval"
"""``interrupt.value["type"]`` of every CapFence approval interrupt."""
_CHECKPOINTER_KEY = "__pregel_checkpointer"
"""LangGraph's config key for the run's checkpointer (``langgraph.constants.CONFIG_KEY_CHECKPOINTER``)."""
STILL_PENDING = (
    "the run was resumed, but approval request {id} is still pending in CapFence's approval store "
    "(a resume value is not an approval; decide with `capfence approvals approve {id}`)"
)


def can_interrupt() -> bool:
    """True inside a LangGraph run that has a checkpointer (so an interrupted run can be resumed)."""
    try:
        from langgraph.config import get_config

        configurable = get_config().get("configurable") or {}
    except Exception:  # noqa: BLE001 - outside a graph run
        return False
    return configurable.get(_CHECKPOINTER_KEY) is not None


def is_approval_interrupt(value: object) -> bool:
    """Whether an ``Interrupt.value`` is a CapFence approval request."""
    return isinstance(value, Mapping) and value.get("type") == INTERRUPT_TYPE


def approval_request(
    decision: Decision, binding: Binding, payload: Mapping[str, Any], tool_call_id: str | None
) -> dict[str, Any]:
    """The interrupt's value: the request, what is held, why, and how a human decides it."""
    request_id = str(decision.approval_id)
    audit_log = getattr(binding.gate, "audit_log", None)
    where = f" --audit-log {audit_log}" if audit_log else ""
    value: dict[str, Any] = {
        "type": INTERRUPT_TYPE,
        "request_id": request_id,
        "tool": binding.tool,
        "tool_call_id": tool_call_id,
        "agent_id": binding.agent_id,
        "capability": binding.capability,
        "arguments": dict(payload),
        "rule": decision.rule,
        "reason": decision.reason,
        "expires": _expires(binding, request_id),
        "message": decision.message(),
        "how_to_approve": (
            f"capfence approvals approve {request_id}{where} (or deny); or runtime.approvals.approve({request_id!r}, by=...); "
            "then resume the graph with Command(resume=...). The resume value is not trusted: only the decision in the store counts."
        ),
    }
    return value


def _expires(binding: Binding, request_id: str) -> str | None:
    try:
        return str(binding.gate.approvals.get(request_id).expires)
    except Exception:  # noqa: BLE001 - informative only
        return None


def hold(
    decision: Decision, binding: Binding, payload: Mapping[str, Any], tool_call_id: str, name: str | None
) -> ToolMessage:
    """Interrupt the run for ``decision`` (raises on the first run); once resumed and still pending, the error message.

    Only call this for a ``require_approval`` decision with an approval id,
    inside a run that :func:`can_interrupt`.
    """
    from langgraph.types import interrupt

    interrupt(approval_request(decision, binding, payload, tool_call_id))
    content = f"{decision.message()}; {STILL_PENDING.format(id=decision.approval_id)}"
    return ToolMessage(content=content, tool_call_id=tool_call_id, name=name, status="error")


def should_interrupt(decision: Decision, tool_call_id: str | None, enabled: bool) -> bool:
    """A held call with a request id, inside a checkpointed graph run, with interrupts enabled."""
    return (
        enabled
        and tool_call_id is not None
        and decision.action == "require_approval"
        and bool(decision.approval_id)
        and can_interrupt()
    )
