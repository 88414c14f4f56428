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
the block message, becomes the task's final answer.) For calls that went ahead it appends
the ``ran`` outcome to the audit log (``ran`` here means the call was let
through: CrewAI may have answered it from its cache, or the tool may have
failed, which CrewAI reports to the agent itself).

Held calls (``require_approval``): by default the agent gets the message with
the approval request's id. With ``guard_crew(..., approval_wait=seconds)`` the
before-hook waits for a human's decision in the store (:meth:`capfence.Binding.decide`)
and lets the call through once it is approved; the wait blocks the agent's
thread (with ``akickoff``, the event loop: CrewAI calls hooks synchronously).

The before-hook is kept last among CrewAI's global before-hooks (re-checked at
every kickoff of a guarded crew), so a hook that rewrites the tool input in
place does so before the policy sees it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crewai.hooks.dispatch import InterceptionPoint, get_global_hook_list
from crewai.hooks.tool_hooks import ToolCallHookContext

from capfence.decision import Decision, failure
from capfence.gate import Binding
from capfence.policy.view import CallView
from capfence_crewai.guard import CrewGuard, guard_of
from capfence_crewai.tools import block_message

log = logging.getLogger("capfence.crewai")
BLOCKED_BY_HOOK = "Tool execution blocked by hook"
"""How CrewAI 1.15 words the result of a call a before-hook blocked."""
_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Pending:
    decision: Decision
    binding: Binding | None = None
    view: CallView | None = None


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
        for point, hook in ((InterceptionPoint.PRE_TOOL_CALL, before_tool_call), (InterceptionPoint.POST_TOOL_CALL, after_tool_call)):
            hooks = get_global_hook_list(point)
            if hooks and hooks[-1] is hook:
                continue
            while hook in hooks:
                hooks.remove(hook)
            hooks.append(hook)


def uninstall() -> None:
    """Remove the hooks (guarded crews in hooks mode then run ungated: for tests and teardown)."""
    with _LOCK:
        for point, hook in ((InterceptionPoint.PRE_TOOL_CALL, before_tool_call), (InterceptionPoint.POST_TOOL_CALL, after_tool_call)):
            hooks = get_global_hook_list(point)
            while hook in hooks:
                hooks.remove(hook)


def installed() -> bool:
    return before_tool_call in get_global_hook_list(InterceptionPoint.PRE_TOOL_CALL) and after_tool_call in get_global_hook_list(
        InterceptionPoint.POST_TOOL_CALL
    )


def _guard(context: ToolCallHookContext) -> CrewGuard | None:
    crew = context.crew if context.crew is not None else getattr(context.agent, "crew", None)
    guard = guard_of(crew)
    return guard if guard is not None and guard.mode == "hooks" else None


def tool_name(context: ToolCallHookContext) -> str:
    """The tool's own name (the context's ``tool_name`` is CrewAI's sanitized form)."""
    name = getattr(context.tool, "name", None)
    return str(name) if name else str(context.tool_name)


def tool_payload(context: ToolCallHookContext) -> dict[str, Any]:
    """What the policy sees: the call's arguments (a copy, so later changes do not rewrite the audit)."""
    tool_input = context.tool_input
    if isinstance(tool_input, Mapping):
        return dict(tool_input)
    return {} if tool_input is None else {"input": tool_input}


def decide(guard: CrewGuard, context: ToolCallHookContext) -> _Pending:
    """Decide one call; any error is a deny."""
    try:
        binding = guard.binding(guard.agent_id(context.agent), tool_name(context))
        decision, view = binding.decide(tool_payload(context))
        return _Pending(decision, binding, view)
    except Exception as exc:
        log.exception("CapFence could not decide a CrewAI tool call; blocking it")
        return _Pending(failure(f"CapFence crewai hook failed: {type(exc).__name__}: {exc}"))


def before_tool_call(context: ToolCallHookContext) -> bool | None:
    """CrewAI before-hook: ``False`` (block) unless the policy lets the call through; never raises."""
    try:
        guard = _guard(context)
        if guard is None:
            return None
        pending = decide(guard, context)
        _PENDING.put(context.tool_input, pending)
        return None if pending.decision.allowed else False
    except Exception:
        log.exception("CapFence crewai before-hook failed; blocking the call")
        return False


def after_tool_call(context: ToolCallHookContext) -> str | None:
    """CrewAI after-hook: the block message for a blocked call; records ``ran`` for the others."""
    try:
        pending = _PENDING.pop(context.tool_input)
        if pending is None:
            return None
        if not pending.decision.allowed:
            return block_message(pending.decision)
        if pending.binding is not None:
            blocked = isinstance(context.tool_result, str) and context.tool_result.startswith(BLOCKED_BY_HOOK)
            pending.binding.gate.record_outcome(pending.decision, "blocked" if blocked else "ran", view=pending.view)
        return None
    except Exception:
        log.exception("CapFence crewai after-hook failed")
        return None
