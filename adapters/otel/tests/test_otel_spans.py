"""Each decision is a span with the GenAI and ``capfence.*`` attributes, nested under the current span."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from opentelemetry.trace import StatusCode

import capfence_otel
from capfence import ActionRuntime
from capfence.plugins import build_registry
from capfence.testing import audit_rows
from conftest import Telemetry


def test_the_plugin_loads_through_the_entry_point() -> None:
    manager = build_registry().manager
    names = [manager.get_name(plugin) for plugin in manager.get_plugins()]
    assert "otel" in names


def test_a_rule_decision_is_a_span_with_its_provenance(
    telemetry: Telemetry, runtime: ActionRuntime, policy_file: Path
) -> None:
    decision = runtime.evaluate(
        "shell.execute",
        {"command": "ls"},
        agent_id="agent-7",
        tool="run_shell",
        framework="langchain",
        call_id="call_1",
    )
    (span,) = telemetry.decision_spans()
    assert span.name == "capfence.decision run_shell"
    attrs = dict(span.attributes or {})
    assert attrs == {
        "gen_ai.tool.name": "run_shell",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.agent.id": "agent-7",
        "capfence.decision": "warn",
        "capfence.decided_by": "rule",
        "capfence.capability": "shell.execute",
        "capfence.rule.id": "observe-shell",
        "capfence.rule.source": str(policy_file.resolve()),
        "capfence.rule.line": 12,
        "capfence.policy.digest": decision.policy_digest,
        "capfence.reason": decision.reason,
        "capfence.audit.seq": decision.record_id,
        "capfence.framework": "langchain",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.start_time is not None and span.end_time is not None and span.start_time <= span.end_time


def test_the_span_is_a_child_of_the_current_span(telemetry: Telemetry, runtime: ActionRuntime) -> None:
    tracer = telemetry.tracer_provider.get_tracer("framework")
    with tracer.start_as_current_span("execute_tool read_file") as parent:
        runtime.evaluate("filesystem.read", {"path": "a.txt"}, agent_id="a", tool="read_file")
    (span,) = telemetry.decision_spans()
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id


def test_default_and_failure_say_what_decided(telemetry: Telemetry, runtime: ActionRuntime) -> None:
    runtime.evaluate("payments.refund", {"amount": 5}, agent_id="a")
    default = telemetry.decision_spans()[-1]
    assert default.name == "capfence.decision payments.refund"
    assert default.attributes["capfence.decided_by"] == "default"
    assert "capfence.rule.id" not in default.attributes and "capfence.rule.source" not in default.attributes

    runtime._store = None
    runtime.audit_log = "/nonexistent/dir/audit.db"  # the audit write fails: an internal-error deny
    decision = runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a")
    assert decision.action == "deny" and decision.decided_by == "internal_error"
    failed = telemetry.decision_spans()[-1]
    assert failed.attributes["capfence.decided_by"] == "internal_error"
    assert failed.attributes["error.type"] == "capfence.internal_error"
    assert failed.status.status_code is StatusCode.ERROR


def test_approvals_carry_the_approver_and_timeouts_say_so(
    telemetry: Telemetry, runtime: ActionRuntime, policy_file: Path
) -> None:
    held = runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a", tool="deploy")
    assert held.action == "require_approval" and held.approval_id
    runtime.approvals.approve(held.approval_id, by="alice")
    approved = runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a", tool="deploy")
    assert approved.action == "allow" and approved.decided_by == "approval"
    first, second = telemetry.decision_spans()
    assert (
        first.attributes["capfence.decided_by"] == "rule"
        and first.attributes["capfence.approval.id"] == held.approval_id
    )
    assert second.attributes["capfence.decided_by"] == "approval"
    assert second.attributes["capfence.approval.approver"] == "alice"
    assert (
        second.attributes["capfence.rule.id"] == "hold-deploys"
        and second.attributes["capfence.rule.line"] == 8
    )
    # and the audit record itself says the same
    record = audit_rows(runtime.audit_log)[-1]
    assert json.loads(record["detail"]) == {
        "approval_id": held.approval_id,
        "approver": "alice",
        "decided_by": "approval",
        "rule_line": 8,
        "rule_source": str(policy_file.resolve()),
    }


def test_arguments_are_not_exported_unless_opted_in_and_then_redacted(
    telemetry: Telemetry, runtime: ActionRuntime
) -> None:
    runtime.evaluate("filesystem.read", {"path": "a.txt", "password": "hunter2"}, agent_id="a")
    assert "gen_ai.tool.call.arguments" not in telemetry.decision_spans()[-1].attributes
    capfence_otel.configure(tracer_provider=telemetry.tracer_provider, export_arguments=True)
    runtime.evaluate("filesystem.read", {"path": "a.txt", "password": "hunter2"}, agent_id="a")
    exported = telemetry.decision_spans()[-1].attributes["gen_ai.tool.call.arguments"]
    assert "hunter2" not in exported
    assert json.loads(exported)["path"] == "a.txt"
    assert exported == audit_rows(runtime.audit_log)[-1]["payload"]  # exactly what the audit log keeps


@pytest.mark.parametrize("value", ["1", "true", "off", ""])
def test_arguments_opt_in_from_the_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(capfence_otel.ARGUMENTS_ENV, value)
    try:
        assert capfence_otel.configure().export_arguments is (value in ("1", "true"))
    finally:
        capfence_otel.config._telemetry = None


def test_a_broken_telemetry_changes_no_decision(
    telemetry: Telemetry, runtime: ActionRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object) -> None:
        raise RuntimeError("exporter set-up broken")

    monkeypatch.setattr(capfence_otel.telemetry_in_use(), "note", explode)
    decision = runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert decision.action == "warn" and decision.record_id is not None


def test_a_decision_the_worker_cannot_record_stops_nothing(
    telemetry: Telemetry, runtime: ActionRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_use = capfence_otel.telemetry_in_use()
    real = in_use._span
    calls = []

    def flaky(*args: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bad attribute")
        real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(in_use, "_span", flaky)
    runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    runtime.evaluate("filesystem.read", {"path": "b"}, agent_id="a")
    assert [s.attributes["capfence.capability"] for s in telemetry.decision_spans()] == ["filesystem.read"]


def test_the_hook_only_notes_the_decision_and_the_worker_keeps_its_parent(
    telemetry: Telemetry, runtime: ActionRuntime
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("framework")
    with tracer.start_as_current_span("execute_tool a") as first:
        runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a")
    with tracer.start_as_current_span("execute_tool b") as second:
        runtime.evaluate("filesystem.read", {"path": "b"}, agent_id="a")
    a, b = telemetry.decision_spans()
    assert (
        a.parent.span_id == first.get_span_context().span_id
        and b.parent.span_id == second.get_span_context().span_id
    )
    assert a.end_time <= b.start_time  # the times are the decisions', not the worker's
