"""A gate that always fails to decide, for the wrapper's and ``Binding.fail_closed``'s own deny.

It has only the two methods the gate protocol requires (``decide`` and ``record_outcome``; no optional
``record_failure``). Used by ``tests/call/test_fail_closed.py`` and ``tests/call/test_failure_records.py``
(which subclasses it).
"""

from __future__ import annotations

from capfence import Decision


class BrokenGate:
    """A gate whose decide raises: the wrapper must deny on its own."""

    environment = None
    approver = None
    approvals = None  # never reached: nothing is held

    def __init__(self) -> None:
        self.outcomes: list[str] = []

    def decide(self, view: object) -> Decision:
        raise RuntimeError("injected gate fault")

    def record_outcome(
        self, decision: Decision, outcome: str, detail: str | None = None, *, view: object = None
    ) -> None:
        self.outcomes.append(outcome)
