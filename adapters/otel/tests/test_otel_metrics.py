"""Metrics: decisions by action, capability, rule and what decided; the gate's own latencies; pending approvals."""

from __future__ import annotations

import capfence_otel
from capfence import ActionRuntime
from conftest import Telemetry


def by_attributes(points: list) -> dict[frozenset, int]:
    return {frozenset(p.attributes.items()): p.value for p in points}


def test_decisions_are_counted_by_action_capability_and_rule(
    telemetry: Telemetry, runtime: ActionRuntime
) -> None:
    for _ in range(3):
        runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    runtime.evaluate("shell.execute", {"command": "cat secret"}, agent_id="a")
    runtime.evaluate("payments.refund", {}, agent_id="a")
    counts = by_attributes(telemetry.points("capfence.decisions"))
    shell = {"capfence.capability": "shell.execute"}
    assert counts == {
        frozenset(
            {
                **shell,
                "capfence.decision": "warn",
                "capfence.decided_by": "rule",
                "capfence.rule.id": "observe-shell",
            }.items()
        ): 3,
        frozenset(
            {
                **shell,
                "capfence.decision": "deny",
                "capfence.decided_by": "rule",
                "capfence.rule.id": "no-secrets",
            }.items()
        ): 1,
        frozenset(
            {
                "capfence.capability": "payments.refund",
                "capfence.decision": "deny",
                "capfence.decided_by": "default",
            }.items()
        ): 1,
    }


def test_evaluation_and_audit_latency_are_separate_histograms_in_seconds(
    telemetry: Telemetry, runtime: ActionRuntime
) -> None:
    for _ in range(4):
        runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a")
    assert capfence_otel.flush()
    data = telemetry.metrics.get_metrics_data()
    metrics = {m.name: m for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics}
    for name in ("capfence.gate.evaluation.duration", "capfence.gate.audit.duration"):
        metric = metrics[name]
        assert metric.unit == "s"
        (point,) = metric.data.data_points
        assert point.count == 4 and dict(point.attributes) == {"capfence.decision": "allow"}
        assert 0 < point.sum < 4 * 3.0  # seconds, each within the audit budget
        # microsecond buckets, not the SDK's millisecond-sized defaults
        assert point.explicit_bounds[0] == 1e-6
    evaluation = metrics["capfence.gate.evaluation.duration"].data.data_points[0]
    audit = metrics["capfence.gate.audit.duration"].data.data_points[0]
    assert evaluation.sum < audit.sum  # evaluating is cheaper than an fsync'd write: they are measured apart


def test_pending_approvals_go_up_when_held_and_down_when_decided(
    telemetry: Telemetry, runtime: ActionRuntime
) -> None:
    def pending() -> int:
        points = telemetry.points("capfence.approvals.pending")
        return sum(p.value for p in points)

    first = runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a")
    runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a")  # the same request, still pending
    second = runtime.evaluate("deploy.production", {"service": "web"}, agent_id="a")
    assert pending() == 2
    runtime.approvals.approve(str(first.approval_id), by="alice")
    runtime.approvals.deny(str(second.approval_id), by="bob")
    assert runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a").action == "allow"
    assert pending() == 1
    assert runtime.evaluate("deploy.production", {"service": "web"}, agent_id="a").action == "deny"
    assert pending() == 0
