"""A held call inside a workflow agent asks a human: ``InputRequiredEvent`` out, ``HumanResponseEvent`` in, then the store.

When a gated tool's ``acall`` runs inside a workflow step (``FunctionAgent``,
``ReActAgent``, ``AgentWorkflow``) and the policy holds the call
(``require_approval``), the gate:

1. writes an :class:`~workflows.events.InputRequiredEvent` to the event stream
   carrying the request: ``capfence_request_id`` and ``capfence_request`` (a
   plain dict: tool, agent, capability, arguments, rule, reason, expiry, how to
   approve), with a readable ``prefix``;
2. waits (``ctx.wait_for_event``) for a :class:`~workflows.events.HumanResponseEvent`
   whose ``capfence_request_id`` is that request's id. The wait lasts until the
   request expires;
3. decides the call again **from the store**: approved, the tool runs once;
   denied or expired, the agent gets the error ``ToolOutput``; still pending,
   the agent gets an error ``ToolOutput`` saying so. What the response says
   (``response="yes"``) is never taken as the decision.

The caller handles the event like any LlamaIndex human-in-the-loop event::

    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent) and hasattr(event, "capfence_request_id"):
            runtime.approvals.approve(event.capfence_request_id, by="alice")   # or the CLI
            handler.ctx.send_event(HumanResponseEvent(response="decided", capfence_request_id=event.capfence_request_id))

LlamaIndex waits by replaying: the first ``wait_for_event`` raises, and the
whole tool-call step runs again when the response arrives, so the gate runs
twice for one call. The second pass knows it is the second (the step holds this
call's waiter) and goes straight to the re-check: one decision per pass, keyed
by the call's id, so the held decision is not recorded twice and no second
request is filed (:mod:`capfence.approvals.requests`). If the waiter cannot be seen (the
LlamaIndex internals moved), the second pass decides first: approved runs,
still pending waits (the response is already there) and re-checks.

Outside a workflow step, without a tool-call id, for sync ``call``, or with
the events turned off (``guard_agent(..., input_required_on_approval=False)``,
:func:`approval_events`), a held call returns the error ``ToolOutput`` naming
the request at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llama_index.core.tools import BaseTool, ToolOutput

from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.wrapping import binding_of

log = logging.getLogger("capfence.llamaindex")
INPUT_REQUIRED_ATTR = "__capfence_input_required_on_approval__"
REQUEST_ID_FIELD = "capfence_request_id"
"""The field of the ``InputRequiredEvent`` (and of the expected ``HumanResponseEvent``) naming the request."""
REQUEST_FIELD = "capfence_request"
DEFAULT_WAIT = 3600.0
"""How long to wait for the response when the request's expiry cannot be read."""
STILL_PENDING = (
    "a response arrived, but approval request {id} is still pending in CapFence's approval store "
    "(a response is not an approval; decide with `capfence approvals approve {id}`)"
)


@dataclass(frozen=True)
class Held:
    """What the first pass's block callback returns for a held call: ask the human."""

    decision: Decision


def approval_events(tool: BaseTool, enabled: bool) -> BaseTool:
    """A copy of the gated ``tool`` that does (True, the default) or does not ask for a human through workflow events."""
    from capfence_llamaindex.tools import _copy_tool

    binding_of(tool)  # raises for a tool that is not gated
    clone = _copy_tool(tool)
    object.__setattr__(clone, INPUT_REQUIRED_ATTR, bool(enabled))
    return clone


def set_approval_events(tool: BaseTool, enabled: bool | None) -> BaseTool:
    """Set the flag on a gated tool in place (``None``: leave it as it is)."""
    if enabled is not None:
        object.__setattr__(tool, INPUT_REQUIRED_ATTR, bool(enabled))
    return tool


def step_context(tool: BaseTool, binding: Binding) -> Any | None:
    """The workflow ``Context`` to ask through, or ``None`` when a held call should just be returned blocked."""
    if not tool.__dict__.get(INPUT_REQUIRED_ATTR, True) or not binding.call_id:
        return None
    try:
        from workflows.context import Context

        return Context.get_step_context()
    except Exception:  # noqa: BLE001 - not inside a workflow step
        return None


def waiter_id(binding: Binding) -> str:
    return f"capfence-approval:{binding.call_id}"


def _waiting(waiter: str) -> bool:
    """Whether this step already holds our waiter (so this pass is the replay after the wait). LlamaIndex internals."""
    try:
        from workflows.runtime.types.results import StepWorkerStateContextVar

        waiters = StepWorkerStateContextVar.get().state.collected_waiters
        return any(getattr(w, "waiter_id", None) == waiter for w in waiters)
    except Exception:  # noqa: BLE001 - internals moved: the second pass decides first (see the module docstring)
        return False


def request_value(decision: Decision, binding: Binding, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The request as a plain dict (the event's ``capfence_request``)."""
    request_id = str(decision.approval_id)
    audit_log = getattr(binding.gate, "audit_log", None)
    where = f" --audit-log {audit_log}" if audit_log else ""
    return {
        "request_id": request_id,
        "tool": binding.tool,
        "call_id": binding.call_id,
        "agent_id": binding.agent_id,
        "capability": binding.capability,
        "arguments": dict(payload),
        "rule": decision.rule,
        "reason": decision.reason,
        "expires": _expires(binding, request_id),
        "message": decision.message(),
        "how_to_approve": (
            f"capfence approvals approve {request_id}{where} (or deny); or runtime.approvals.approve({request_id!r}, by=...); "
            f"then send HumanResponseEvent({REQUEST_ID_FIELD}={request_id!r}, response=...). "
            "The response is not trusted: only the decision in the store counts."
        ),
    }


def _expires(binding: Binding, request_id: str) -> str | None:
    try:
        return str(binding.gate.approvals.get(request_id).expires)
    except Exception:  # noqa: BLE001 - informative only
        return None


def _seconds_left(expires: str | None) -> float:
    if expires is None:
        return DEFAULT_WAIT
    try:
        left = (dt.datetime.fromisoformat(expires) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        return DEFAULT_WAIT
    return max(left, 0.0) + 0.5  # past the expiry, so the re-check finds the request expired


async def ask(
    ctx: Any,
    key: int,
    binding: Binding,
    payload: Mapping[str, Any],
    body: Callable[[], Awaitable[ToolOutput]],
    block: Callable[[Decision], ToolOutput],
) -> ToolOutput:
    """Decide; for a held call, ask a human through the workflow, then decide again from the store (see the module docstring)."""
    from workflows.events import HumanResponseEvent, InputRequiredEvent

    waiter = waiter_id(binding)
    if _waiting(waiter):  # the replay after our wait: take the response, then the store decides
        # nobody answered before the request expired: the store says so
        with contextlib.suppress(TimeoutError):
            await ctx.wait_for_event(HumanResponseEvent, waiter_id=waiter, timeout=None)
        return await binding.acall(key, payload, body, lambda decision: block(_after_response(decision)))

    def held_or_blocked(decision: Decision) -> ToolOutput | Held:
        return (
            Held(decision)
            if decision.action == "require_approval" and decision.approval_id
            else block(decision)
        )

    first = await binding.acall(key, payload, body, held_or_blocked)
    if not isinstance(first, Held):
        return first
    request = request_value(first.decision, binding, payload)
    prompt = f"CapFence: approve {binding.tool} {dict(payload)} for {binding.agent_id}? (approval request {request['request_id']})"
    fields: dict[str, Any] = {
        "prefix": prompt,
        REQUEST_ID_FIELD: request["request_id"],
        REQUEST_FIELD: request,
    }
    event = InputRequiredEvent(**fields)  # events take any fields
    log.warning(
        "CapFence: %s call held for approval request %s; the run waits for HumanResponseEvent(%s=%r) until the request expires "
        "(input_required_on_approval=False tells the model at once instead)",
        binding.tool,
        request["request_id"],
        REQUEST_ID_FIELD,
        request["request_id"],
    )
    await ctx.wait_for_event(
        HumanResponseEvent,
        waiter_event=event,
        waiter_id=waiter,
        requirements={REQUEST_ID_FIELD: request["request_id"]},
        timeout=_seconds_left(request["expires"]),
        # raises (LlamaIndex replays the step when the response arrives); returns only if _waiting could not see
        # the waiter
    )
    return await binding.acall(key, payload, body, lambda decision: block(_after_response(decision)))


def _after_response(decision: Decision) -> Decision:
    """A call still held after the human's response says so."""
    if decision.action != "require_approval" or not decision.approval_id:
        return decision
    return decision.with_(reason=f"{decision.reason}; {STILL_PENDING.format(id=decision.approval_id)}")
