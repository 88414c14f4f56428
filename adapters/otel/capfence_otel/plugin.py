"""The entry point (``[project.entry-points.capfence] otel = "capfence_otel.plugin"``): one ``capfence_on_decision`` observer.

It hands each decision to the process's :class:`~capfence_otel.telemetry.DecisionTelemetry`
(:func:`capfence_otel.telemetry_in_use`). Like every observer it runs after the decision was
written and cannot change it; what it raises is logged and ignored by the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence import hookimpl
from capfence_otel.config import telemetry_in_use

if TYPE_CHECKING:
    from capfence.call.decision import Decision, Timing
    from capfence.call.view import CallView
    from capfence.policy.compiled import Policy


@hookimpl
def capfence_on_decision(
    call: CallView, decision: Decision, timing: Timing | None, policy: Policy | None
) -> None:
    """Note the decision for the worker that makes its span and measurements (nothing here waits)."""
    telemetry_in_use().note(call, decision, timing, policy)
