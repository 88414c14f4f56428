"""CrewAI before/after tool-call hooks that gate the calls of guarded crews only, failing closed.

CrewAI 1.15 keeps tool hooks in process-wide lists and calls them on every
path an agent uses a tool by (ReAct text mode, native function calling, sync
and async executors) with a context naming the tool, its input, the agent, the
task and the crew. The before-hook runs *before* CrewAI consults its
tool-result cache, so a call answered from the cache is still decided.

This module registers one pair of hooks for the whole process
(:func:`install`, idempotent). They look the crew up on each call
(:func:`capfence_crewai.guard.guard_of`, via the context's crew or the agent's)
and return at once for any crew that is not guarded in hooks mode: the gate
is scoped to the crews passed to :func:`capfence_crewai.guard_crew`.

Failing closed: CrewAI swallows any exception a hook raises other than its own
``HookAborted`` and then *runs the tool*. So nothing escapes these hooks:
every error while deciding becomes a ``deny`` (``internal_error: ...``), and
the before-hook returns ``False``, which CrewAI turns into a block.

Blocked calls: CrewAI answers a blocked call with "Tool execution blocked by
hook" and runs the after-hooks; the after-hook replaces that text with the
decision's message (action, reason, rule id), which the agent reads as the
tool's result, and the crew carries on. (One exception CrewAI decides: with
native function calling, a blocked ``result_as_answer`` tool's result, here
the block message, becomes the task's final answer.) Outcomes of calls that
went ahead: a body that ran on the hook's decision records ``ran`` or
``tool_error`` itself; for a call that never reached a body (answered from
CrewAI's cache, or a tool without a view) the after-hook records ``ran``,
meaning the call was let through.

Held calls (``require_approval``): by default the agent gets the message with
the approval request's id. With ``guard_crew(..., approval_wait=seconds)`` the
before-hook waits for a human's decision in the store (:meth:`capfence.Binding.decide`)
and lets the call through once it is approved; the wait blocks the agent's
thread (with ``akickoff``, the event loop: CrewAI calls hooks synchronously).

What the policy sees: the arguments the tool's body will be called with,
after CrewAI applies the tool's ``args_schema`` (:mod:`capfence_crewai.arguments`).

Order: the before-hook is kept last among CrewAI's global before-hooks
(re-checked at every kickoff of a guarded crew), so a hook registered before
the kickoff that rewrites the tool input in place does so before the policy
sees it. Hooks can still run after it (execution-scoped hooks, hooks
registered while the crew runs); that is why an allowed call is only a ticket
(:mod:`capfence_crewai.views`), redeemed by the tool's body for exactly the
decided arguments and decided again otherwise. The after-hook closes the
ticket; for an input changed after the decision that no gated body saw (an
answer from CrewAI's cache, a tool the crew's views do not cover), it decides
the changed call itself and withholds the result if that is blocked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crewai.hooks.dispatch import InterceptionPoint, get_global_hook_list
from crewai.hooks.tool_hooks import ToolCallHookContext
from crewai.tools import BaseTool

from capfence.call.canonical import NotCanonical, encode
from capfence.call.decision import Decision, failure
from capfence.call.gate import Binding
from capfence.call.view import CallView
from capfence_crewai.arguments import predicted
from capfence_crewai.guard import CrewGuard, guard_of
from capfence_crewai.tools import block_message
from capfence_crewai.views import TICKETS, Ticket, is_view

log = logging.getLogger("capfence.crewai")
BLOCKED_BY_HOOK = "Tool execution blocked by hook"
"""How CrewAI 1.15 words the result of a call a before-hook blocked."""
SUPERSEDED = "not run as decided: its arguments were changed after this decision (by a hook that ran after CapFence's); decided again"
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Pending:
    decision: Decision
    binding: Binding | None = None
    view: CallView | None = None
    ticket: Ticket | None = None


class _PendingCalls:
    """Decisions waiting for their after-hook, keyed by the identity of the call's input dict.

    CrewAI passes the same ``tool_input`` object to the before- and after-hook
    contexts of one call, on every path. Bounded, in case a call's after-hook
    never runs (an exception inside CrewAI between the two).
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._items: dict[int, tuple[object, _Pending]] = {}
        self._lock = threading.Lock()

    def put(self, key: object, pending: _Pending) -> None:
        with self._lock:
            if len(self._items) >= self.LIMIT:
                del self._items[next(iter(self._items))]
            self._items[id(key)] = (key, pending)

    def pop(self, key: object) -> _Pending | None:
        with self._lock:
            item = self._items.get(id(key))
            if item is None or item[0] is not key:
                return None
            del self._items[id(key)]
            return item[1]


_PENDING = _PendingCalls()


def install() -> None:
    """Register the hooks in CrewAI's global lists if missing; move the before-hook to the end."""
    with _LOCK:
        for point, hook in (
            (InterceptionPoint.PRE_TOOL_CALL, before_tool_call),
            (InterceptionPoint.POST_TOOL_CALL, after_tool_call),
        ):
            hooks = get_global_hook_list(point)
            if hooks and hooks[-1] is hook:
                continue
            while hook in hooks:
                hooks.remove(hook)
            hooks.append(hook)


def uninstall() -> None:
    """Remove the hooks (guarded crews in hooks mode then run ungated: for tests and teardown)."""
    with _LOCK:
        for point, hook in (
            (InterceptionPoint.PRE_TOOL_CALL, before_tool_call),
            (InterceptionPoint.POST_TOOL_CALL, after_tool_call),
        ):
            hooks = get_global_hook_list(point)
            while hook in hooks:
                hooks.remove(hook)


def installed() -> bool:
    return before_tool_call in get_global_hook_list(
        InterceptionPoint.PRE_TOOL_CALL
    ) and after_tool_call in get_global_hook_list(InterceptionPoint.POST_TOOL_CALL)


def _guard(context: ToolCallHookContext) -> CrewGuard | None:
    crew = context.crew if context.crew is not None else getattr(context.agent, "crew", None)
    guard = guard_of(crew)
    return guard if guard is not None and guard.mode == "hooks" else None


def tool_name(context: ToolCallHookContext) -> str:
    """The tool's own name (the context's ``tool_name`` is CrewAI's sanitized form)."""
    name = getattr(context.tool, "name", None)
    return str(name) if name else str(context.tool_name)


def tool_payload(context: ToolCallHookContext) -> dict[str, Any]:
    """What the policy sees: the arguments the tool's body will be called with (a new dict: later changes do not rewrite it)."""
    tool_input = context.tool_input
    if isinstance(tool_input, Mapping):
        return predicted(context.tool, tool_input)
    return {} if tool_input is None else {"input": tool_input}


def decide(guard: CrewGuard, context: ToolCallHookContext) -> _Pending:
    """Decide one call; any error is a deny (recorded, with the call's raw input, once the tool's binding is known)."""
    binding: Binding | None = None
    try:
        binding = guard.binding(guard.agent_id(context.agent), tool_name(context))
        decision, view = binding.decide(tool_payload(context))
        return _Pending(decision, binding, view)
    except Exception as exc:
        log.exception("CapFence could not decide a CrewAI tool call; blocking it")
        reason = f"CapFence crewai hook failed: {type(exc).__name__}: {exc}"
        if binding is None:
            return _Pending(failure(reason))
        tool_input = context.tool_input
        raw = dict(tool_input) if isinstance(tool_input, Mapping) else {"input": tool_input}
        return _Pending(binding.fail_closed(raw, reason)[0])


def before_tool_call(context: ToolCallHookContext) -> bool | None:
    """CrewAI before-hook: ``False`` (block) unless the policy lets the call through; never raises."""
    try:
        guard = _guard(context)
        if guard is None:
            return None
        pending = _ticketed(context, decide(guard, context))
        _PENDING.put(context.tool_input, pending)
        return None if pending.decision.allowed else False
    except Exception:
        log.exception("CapFence crewai before-hook failed; blocking the call")
        return False


def _ticketed(context: ToolCallHookContext, pending: _Pending) -> _Pending:
    """An allowed call of a tool the crew runs as a view gets a ticket its body redeems (see :mod:`capfence_crewai.views`)."""
    tool = getattr(context.tool, "_original_tool", None)
    if not (
        pending.decision.allowed
        and pending.binding
        and pending.view
        and isinstance(context.tool_input, Mapping)
    ):
        return pending
    # a tool without a view: the hook's decision is all there is
    if not (isinstance(tool, BaseTool) and is_view(tool)):
        return pending
    try:
        args_text = pending.view.args_text
    except ValueError:  # no lossless encoding: nothing to redeem; the body decides again
        return pending
    ticket = Ticket(tool, args_text, context.tool_input, pending.binding, pending.decision, pending.view)
    TICKETS.issue(ticket)
    return _Pending(pending.decision, pending.binding, pending.view, ticket)


def after_tool_call(context: ToolCallHookContext) -> str | None:
    """CrewAI after-hook: the block message for a blocked call; records what became of the others."""
    try:
        pending = _PENDING.pop(context.tool_input)
        if pending is None:
            return None
        if not pending.decision.allowed:
            return block_message(pending.decision)
        if pending.binding is None:
            return None
        return _settle(context, pending, pending.binding)
    except Exception:
        log.exception("CapFence crewai after-hook failed")
        return None


def _settle(context: ToolCallHookContext, pending: _Pending, binding: Binding) -> str | None:
    state = TICKETS.close(pending.ticket) if pending.ticket is not None else None
    if state == "taken":  # the body ran on this decision and recorded its outcome
        return None
    if isinstance(context.tool_result, str) and context.tool_result.startswith(BLOCKED_BY_HOOK):
        binding.gate.record_outcome(pending.decision, "blocked", view=pending.view)
        return None
    if state == "superseded":  # the body was reached with other arguments and decided them again
        binding.gate.record_outcome(pending.decision, "blocked", SUPERSEDED, view=pending.view)
        return None
    if _changed(context, pending):  # changed after the decision, and no gated body saw it
        binding.gate.record_outcome(pending.decision, "blocked", SUPERSEDED, view=pending.view)
        return _decide_late(context, binding)
    # let through (maybe answered from the cache)
    binding.gate.record_outcome(pending.decision, "ran", view=pending.view)
    return None


def _changed(context: ToolCallHookContext, pending: _Pending) -> bool:
    """Whether the call's input now means other arguments than the decided ones (True when that cannot be told)."""
    try:
        return pending.view is None or encode(tool_payload(context)) != pending.view.args_text
    except (NotCanonical, ValueError):
        return True


def _decide_late(context: ToolCallHookContext, binding: Binding) -> str | None:
    """Decide a call changed after the decision that went ahead undecided: if blocked, the agent gets the message instead."""
    decision, view = binding.decide(tool_payload(context))
    if not decision.allowed:
        return block_message(decision)
    binding.gate.record_outcome(decision, "ran", view=view)
    return None
