"""What every adapter calls: decide, then run, block or hold, and record the outcome.

A :class:`Binding` ties a runtime to one wrapped tool (agent id, capability,
framework, tool name). Adapters turn a framework call into a payload and use
:meth:`Binding.call` / :meth:`Binding.acall`; they never run the tool body
without a decision. A reentrancy guard (a ContextVar) lets one gated entry
point call another (LangChain ``invoke`` -> ``run``) with a single decision.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from capfence.decision import Decision, failure
from capfence.errors import ApprovalRequired, ToolCallDenied
from capfence.policy.view import CallView

if TYPE_CHECKING:
    from capfence.runtime import ActionRuntime

T = TypeVar("T")
_ACTIVE: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("capfence_active", default=frozenset())


class Gate(Protocol):
    """The part of :class:`~capfence.ActionRuntime` adapters rely on."""

    def decide(self, view: CallView) -> Decision: ...

    def record_outcome(self, decision: Decision, outcome: str, detail: str | None = None, *, view: CallView | None = None) -> None: ...


def blocked_error(decision: Decision) -> ToolCallDenied:
    """The exception for a blocked decision: ApprovalRequired for holds, ToolCallDenied otherwise."""
    return ApprovalRequired(decision) if decision.action == "require_approval" else ToolCallDenied(decision)


@dataclass(frozen=True)
class Binding:
    """One wrapped tool's identity in front of the gate."""

    gate: ActionRuntime | Gate
    agent_id: str
    capability: str
    framework: str
    tool: str | None = None
    environment: str | None = None

    def view(self, payload: Mapping[str, Any]) -> CallView:
        environment = self.environment or getattr(self.gate, "environment", None)
        return CallView(self.capability, payload, self.agent_id, environment, self.tool, self.framework)

    def decide(self, payload: Mapping[str, Any]) -> tuple[Decision, CallView]:
        """Decide and audit; never raises (a failure is a deny)."""
        view = self.view(payload)
        try:
            decision = self.gate.decide(view)
        except Exception as exc:  # noqa: BLE001 - a broken gate denies
            decision = failure(f"gate failed: {type(exc).__name__}: {exc}")
        if not decision.allowed:
            self.gate.record_outcome(decision, "held" if decision.action == "require_approval" else "blocked", view=view)
        return decision, view

    @contextmanager
    def _guard(self, key: int) -> Iterator[bool]:
        """Yield True when this call is already inside a gated call of the same tool."""
        active = _ACTIVE.get()
        if key in active:
            yield True
            return
        token = _ACTIVE.set(active | {key})
        try:
            yield False
        finally:
            _ACTIVE.reset(token)

    def call(self, key: int, payload: Mapping[str, Any], run: Callable[[], T], on_block: Callable[[Decision], T] | None = None) -> T:
        """Decide, then ``run()`` (recording ran/tool_error) or block (``on_block`` or raise)."""
        with self._guard(key) as nested:
            if nested:
                return run()
            decision, view = self.decide(payload)
            if not decision.allowed:
                if on_block is None:
                    raise blocked_error(decision)
                return on_block(decision)
            return self._run(decision, view, run)

    async def acall(self, key: int, payload: Mapping[str, Any], run: Callable[[], Awaitable[T]], on_block: Callable[[Decision], T] | None = None) -> T:
        """Async :meth:`call`: the decision and audit write run in a worker thread."""
        import asyncio

        with self._guard(key) as nested:
            if nested:
                return await run()
            decision, view = await asyncio.to_thread(self.decide, payload)
            if not decision.allowed:
                if on_block is None:
                    raise blocked_error(decision)
                return on_block(decision)
            try:
                result = await run()
            except BaseException as exc:
                await asyncio.to_thread(self.gate.record_outcome, decision, "tool_error", repr(exc), view=view)
                raise
            await asyncio.to_thread(self.gate.record_outcome, decision, "ran", view=view)
            return result

    def _run(self, decision: Decision, view: CallView, run: Callable[[], T]) -> T:
        try:
            result = run()
        except BaseException as exc:
            self.gate.record_outcome(decision, "tool_error", repr(exc), view=view)
            raise
        self.gate.record_outcome(decision, "ran", view=view)
        return result
