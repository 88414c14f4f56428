"""What every adapter calls: decide, then run, block or hold, and record the outcome.

A :class:`Binding` ties a runtime to one wrapped tool (agent id, capability,
framework, tool name). Adapters turn a framework call into a payload and use
:meth:`Binding.call` / :meth:`Binding.acall`; they never run the tool body
without a decision. A reentrancy guard (a ContextVar) lets one gated entry
point call another (LangChain ``invoke`` -> ``run``) with a single decision.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from capfence.call.canonical import same_arguments
from capfence.call.decision import Decision, Provenance, failure
from capfence.call.view import CallView
from capfence.contracts import Approver, Gate, RecordsFailures, check_gate
from capfence.errors import ApprovalRequired, ToolCallDenied

T = TypeVar("T")
log = logging.getLogger("capfence")
_ACTIVE: contextvars.ContextVar[Mapping[int, CallView]] = contextvars.ContextVar(
    "capfence_active",
    default={},  # noqa: B039 - never mutated
)
"""The gated calls running in this context: reentrancy key -> the call as it was decided."""


def blocked_error(decision: Decision) -> ToolCallDenied:
    """The exception for a blocked decision: ApprovalRequired for holds, ToolCallDenied otherwise."""
    return ApprovalRequired(decision) if decision.action == "require_approval" else ToolCallDenied(decision)


@contextmanager
def tool_body() -> Iterator[None]:
    """Mark where a tool's own body runs: calls it makes to gated tools (itself included) are gated again.

    The reentrancy guard is only for one framework entry point calling another
    for the *same* call; an adapter that knows where the body starts (the plain
    callable one) uses this so a recursive call is a new call, decided and audited.
    """
    token = _ACTIVE.set({})
    try:
        yield
    finally:
        _ACTIVE.reset(token)


@dataclass(frozen=True)
class Binding:
    """One wrapped tool's identity in front of the gate.

    ``gate`` is checked against :class:`~capfence.contracts.Gate` when the binding is made: a gate
    missing a member is refused (:class:`~capfence.contracts.ContractError` naming it).
    """

    gate: Gate
    agent_id: str
    capability: str
    framework: str
    tool: str | None = None
    environment: str | None = None
    approval_wait: float | None = None
    """Seconds a held call waits for a human decision before giving up (None: do not wait)."""
    call_id: str | None = None
    """The framework's id of the one call being decided; adapters set it per call with
    ``dataclasses.replace(binding, call_id=...)``; a re-run that is blocked again with the same
    arguments reuses its record, and every execution gets a record of its own."""

    def __post_init__(self) -> None:
        check_gate(self.gate)

    def __deepcopy__(self, memo: dict[int, Any]) -> Binding:
        """Bindings are immutable and the gate is a shared service: a deep copy of a gated tool shares both."""
        return self

    def view(self, payload: Mapping[str, Any]) -> CallView:
        environment = self.environment or self.gate.environment
        return CallView(
            self.capability, payload, self.agent_id, environment, self.tool, self.framework, self.call_id
        )

    def decide(self, payload: Mapping[str, Any]) -> tuple[Decision, CallView]:
        """Decide and audit; never raises (a failure is a deny).

        With ``approval_wait`` set, a held call waits (sleeping) up to that many
        seconds for a human decision, then is decided again: approved runs once,
        denied is denied, expired or still pending stays blocked.
        """
        view = self.view(payload)
        decision = self._decide_once(view)
        approver = self.gate.approver
        waited = False
        if (
            decision.action == "require_approval"
            and decision.approval_id
            and (approver or self.approval_wait)
        ):
            decision, waited = self._await_approval(view, decision, approver), True
        if not decision.allowed:
            outcome = "held" if decision.action == "require_approval" else "blocked"
            # a call still held after waiting was recorded held before the wait
            if not (waited and outcome == "held"):
                self.gate.record_outcome(decision, outcome, view=view)
        return decision, view

    def fail_closed(self, payload: Mapping[str, Any], reason: str) -> tuple[Decision, CallView]:
        """Deny a call that something kept from the policy (``reason``), recorded as :meth:`decide` records a deny:
        the decision (through the gate's ``record_failure``, see :meth:`ActionRuntime.record_failure
        <capfence.call.runtime.ActionRuntime.record_failure>`), then the ``blocked`` outcome. Never raises.
        """
        view = self.view(payload)
        decision = self._failed(view, reason)
        try:
            self.gate.record_outcome(decision, "blocked", view=view)
        except Exception as exc:  # noqa: BLE001 - the call is denied either way
            log.error("could not record the blocked outcome of %s: %s", view.capability, exc)
        return decision, view

    def _failed(self, view: CallView, reason: str) -> Decision:
        """The deny for a failure, written to the audit log when the gate can (a gate without ``record_failure`` only
        blocks)."""
        if not isinstance(self.gate, RecordsFailures):
            return failure(reason)
        try:
            decision = self.gate.record_failure(view, reason)
        except Exception as exc:  # noqa: BLE001 - a gate that cannot record still denies
            return failure(f"{reason} (not recorded: {type(exc).__name__}: {exc})")
        return decision

    def _decide_once(self, view: CallView) -> Decision:
        try:
            return self.gate.decide(view)
        except Exception as exc:  # noqa: BLE001 - a broken gate denies
            return self._failed(view, f"gate failed: {type(exc).__name__}: {exc}")

    def _await_approval(self, view: CallView, held: Decision, approver: Approver | None) -> Decision:
        """Ask the runtime's approver (if any), wait up to ``approval_wait``, then decide again."""
        self.gate.record_outcome(held, "held", view=view)
        approvals = self.gate.approvals
        if approver is not None:
            try:
                approver.review(approvals.get(str(held.approval_id)), approvals)
            except Exception as exc:  # noqa: BLE001 - the request stays pending; the call stays held
                return held.with_(
                    reason=f"{held.reason} ({getattr(approver, 'name', 'approver')} approver: {exc})"
                )
        try:
            request = approvals.wait(str(held.approval_id), float(self.approval_wait or 0))
        except Exception as exc:  # noqa: BLE001 - cannot read the queue: deny
            return self._failed(view, f"approval lookup failed: {type(exc).__name__}: {exc}")
        if request.status in ("approved", "denied"):
            return self._decide_once(view)
        if request.status == "expired":
            timed_out = (held.provenance or Provenance("rule")).after_approval("approval_timeout")
            return held.with_(
                action="deny",
                reason=f"approval request {request.id} expired without a decision",
                provenance=timed_out,
            )
        return held

    @staticmethod
    def decided_already(key: int, payload: Mapping[str, Any]) -> bool:
        """Whether an enclosing gated call under ``key`` decided exactly these arguments.

        Compared by their lossless encoding (:mod:`capfence.call.canonical`): arguments
        rewritten after that decision (a middleware or hook that runs after CapFence's)
        are not covered by it, and the call is decided again.
        """
        outer = _ACTIVE.get().get(key)
        if outer is None:
            return False
        try:
            decided = outer.args_text
        except ValueError:  # no lossless encoding: nothing can vouch for a repeat
            return False
        return same_arguments(payload, decided)

    @contextmanager
    def _running(self, key: int, view: CallView) -> Iterator[None]:
        """Mark ``key`` as running on the decision made for ``view``."""
        token = _ACTIVE.set({**_ACTIVE.get(), key: view})
        try:
            yield
        finally:
            _ACTIVE.reset(token)

    def call(
        self,
        key: int,
        payload: Mapping[str, Any],
        run: Callable[[], T],
        on_block: Callable[[Decision], T] | None = None,
    ) -> T:
        """Decide, then ``run()`` (recording ran/tool_error) or block (``on_block`` or raise)."""
        if self.decided_already(key, payload):
            return run()
        decision, view = self.decide(payload)
        if not decision.allowed:
            if on_block is None:
                raise blocked_error(decision)
            return on_block(decision)
        return self.run_decided(key, decision, view, run)

    def run_decided(self, key: int, decision: Decision, view: CallView, run: Callable[[], T]) -> T:
        """``run()`` on an allowed ``decision`` made for exactly ``view``'s arguments; records ran/tool_error.

        :meth:`call` ends here. So does an adapter whose decision is made at one point
        of the framework (a hook) and whose tool body is reached at another: the body
        checks that its arguments are the decided ones (by their canonical text), then
        runs here, once. Gated entry points nested under ``key`` with the same arguments
        run on this decision (:meth:`decided_already`).
        """
        with self._running(key, view):
            return self._run(decision, view, run)

    async def acall(
        self,
        key: int,
        payload: Mapping[str, Any],
        run: Callable[[], Awaitable[T]],
        on_block: Callable[[Decision], T] | None = None,
    ) -> T:
        """Async :meth:`call`: the decision and audit write run in a worker thread."""
        import asyncio

        if self.decided_already(key, payload):
            return await run()
        decision, view = await asyncio.to_thread(self.decide, payload)
        if not decision.allowed:
            if on_block is None:
                raise blocked_error(decision)
            return on_block(decision)
        return await self.arun_decided(key, decision, view, run)

    async def arun_decided(
        self, key: int, decision: Decision, view: CallView, run: Callable[[], Awaitable[T]]
    ) -> T:
        """Async :meth:`run_decided`: the outcome is written in a worker thread."""
        import asyncio

        try:
            with self._running(key, view):
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
