"""An observer plugin (``capfence_on_decision``) that keeps every decision it is told of.

Used by ``tests/call/test_fail_closed.py`` and ``tests/call/test_failure_records.py``.
"""

from __future__ import annotations

from typing import Any

from capfence import Decision, hookimpl


class RecordingObserver:
    """Register it on a plugin manager; :attr:`seen` lists the decisions observed, in order."""

    def __init__(self) -> None:
        self.seen: list[Decision] = []

    @hookimpl
    def capfence_on_decision(self, call: Any, decision: Decision) -> None:
        self.seen.append(decision)
