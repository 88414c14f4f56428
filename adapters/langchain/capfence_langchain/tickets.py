"""The middleware's decision, handed down to the tool it lets run: one decision, one execution.

:class:`~capfence_langchain.CapFenceMiddleware` decides a call *before* the
rest of the chain runs: the middleware listed after it (each wraps the handler
CapFence calls), then the ``ToolNode``, which injects state, store and runtime
and calls ``tool.invoke`` -> ``tool.run``. Any of them can still change what
runs. So the middleware does not run the handler on its decision's word: it
passes the handler a copy of the tool (``request.override(tool=...)``) that
carries a :class:`Ticket`, and the copy's ``run``, the innermost point before
the body, checks the arguments it is about to run with against the ticket:

* the first execution with exactly the decided arguments (lossless encoding,
  :mod:`capfence.call.canonical`) under the same call id *takes* the ticket: it runs
  on the middleware's decision and records that decision's outcome;
* anything else is decided again under the middleware's binding, as a new
  decision record: arguments a middleware rewrote after the decision, a call id
  it changed, a second execution of the same call (a retrying middleware). The
  stale decision never covers it.

When the middleware could not parse the call (see :func:`capfence_langchain.tools.parse`),
its ticket holds no decision and the copy decides at the innermost point.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from capfence.call.decision import Decision
from capfence.call.gate import Binding
from capfence.call.view import CallView
from capfence_langchain.arguments import Snapshot

SUPERSEDED = "not run on this decision: the arguments that reached the tool differ from the decided ones and were decided again"


@dataclass
class Ticket:
    """The middleware's binding for one tool call and, once it allowed the call, its decision."""

    binding: Binding
    interrupt_on_approval: bool
    decision: Decision | None = None
    view: CallView | None = None
    decided: Snapshot | None = None
    used: bool = False
    superseded: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def grant(self, decision: Decision, view: CallView, decided: Snapshot) -> None:
        """The middleware allowed the call: ``decided`` is the payload as it was decided."""
        self.decision, self.view, self.decided = decision, view, decided

    def take(self, call_id: str | None, payload: Mapping[str, Any]) -> tuple[Decision, CallView] | None:
        """The middleware's decision, if this execution runs on it (at most one does); see the module docstring."""
        with self._lock:
            if self.decision is None or self.view is None or self.decided is None or self.used:
                return None
            if call_id != self.binding.call_id or not self.decided.matches(payload):
                self.superseded = True
                return None
            self.used = True
            return self.decision, self.view

    def settle(self, error: BaseException | None) -> None:
        """Record the decision's outcome if no execution took it (one that took it recorded its own). Never raises.

        Superseded (decided again with other arguments): ``blocked``, saying why.
        Otherwise the handler ended without reaching the tool on this decision
        (a middleware answered by itself): what the handler did, ``ran`` or ``tool_error``.
        """
        if self.decision is None or self.used:
            return
        if self.superseded:
            outcome, detail = "blocked", SUPERSEDED
        elif error is None:
            outcome, detail = "ran", None
        else:
            outcome, detail = "tool_error", repr(error)
        self.binding.gate.record_outcome(self.decision, outcome, detail, view=self.view)
