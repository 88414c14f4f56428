"""The hooks fail closed: CrewAI runs the tool when a hook raises, so ours never raise; every fault is a deny.

Each fault is injected during a real crew run (ReAct and native), and the
test asserts the tool's body did not run (its log file stays empty).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scripted import build_crew, call, final, ran

from capfence.call.runtime import ActionRuntime
from capfence.testing import audit_rows
from capfence_crewai import guard_crew
from capfence_crewai import hooks as capfence_hooks

CAPABILITIES = {"shell": "shell.execute"}


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


def run_crew(runtime: Any, tmp_path: Path, native: bool) -> Any:
    """The Operator tries one harmless (warn) command; returns the Operator's model."""
    crew, operator, _ = build_crew(tmp_path, [call("shell", command="ls"), final()], [final()], native=native)
    guard_crew(crew, gate=runtime, capabilities=CAPABILITIES)
    crew.kickoff()
    return operator


def saw(llm: Any, text: str) -> bool:
    return any(text in request for request in llm.prompts)


@pytest.fixture(params=[False, True], ids=["react", "native"])
def native(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_premise_crewai_runs_the_tool_when_a_hook_raises(tmp_path: Path, native: bool) -> None:
    """Why the hooks catch everything: a plain CrewAI hook that raises does not block the call."""
    from crewai.hooks import register_before_tool_call_hook

    crew, _, _ = build_crew(tmp_path, [call("shell", command="ls"), final()], [final()], native=native)
    register_before_tool_call_hook(boom)
    crew.kickoff()
    assert ran(tmp_path / "shell.log") == ["ls"]


def test_fault_in_the_evaluator(
    runtime: ActionRuntime, tmp_path: Path, native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("capfence.call.runtime.evaluate_policy", boom)
    operator = run_crew(runtime, tmp_path, native)
    assert ran(tmp_path / "shell.log") == []
    rows = audit_rows(runtime.audit_log)
    assert [r["decision"] for r in rows] == ["deny"] and rows[0]["reason"].startswith("internal_error")
    assert saw(operator, "CapFence deny: internal_error")


def test_fault_in_the_gate(tmp_path: Path, native: bool) -> None:
    class ExplodingGate:
        environment = None
        approver = None
        approvals = None  # a held call is never waited on here

        def decide(self, view: object) -> Any:
            raise RuntimeError("injected gate fault")

        def record_outcome(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("injected outcome fault")

    operator = run_crew(ExplodingGate(), tmp_path, native)
    assert ran(tmp_path / "shell.log") == []
    assert saw(operator, "CapFence deny: internal_error")


@pytest.mark.parametrize("target", ["tool_payload", "tool_name"])
def test_fault_in_our_hook(
    runtime: ActionRuntime, tmp_path: Path, native: bool, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setattr(capfence_hooks, target, boom)
    operator = run_crew(runtime, tmp_path, native)
    assert ran(tmp_path / "shell.log") == []
    assert saw(
        operator, "CapFence deny: internal_error: CapFence crewai hook failed: RuntimeError: injected fault"
    )
    runtime.close()  # the outcome records are written
    rows = audit_rows(runtime.audit_log)
    if target == "tool_name":  # no tool name, no binding: nothing to record the deny under
        assert rows == []
        return
    # the arguments could not be read as the body would get them: the deny is recorded with the raw input
    assert [(r["tool"], r["capability"], r["decision"], r["payload"]) for r in rows] == [
        ("shell", "shell.execute", "deny", '{"command":"ls"}')
    ]
    assert rows[0]["reason"] == "internal_error: CapFence crewai hook failed: RuntimeError: injected fault"
    assert [(o["outcome"], o["ref"]) for o in audit_rows(runtime.audit_log, "outcome")] == [
        ("blocked", rows[0]["seq"])
    ]


def test_fault_finding_the_guard(
    runtime: ActionRuntime, tmp_path: Path, native: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(capfence_hooks, "_guard", boom)
    run_crew(runtime, tmp_path, native)
    assert ran(tmp_path / "shell.log") == []


def test_fault_opening_the_audit_log(tmp_path: Path, native: bool) -> None:
    """The audit log cannot be written (here: its path is a directory): no record, no tool call."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("warn:\n  - capability: shell.execute\n")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path) as runtime:
        operator = run_crew(runtime, tmp_path, native)
    assert ran(tmp_path / "shell.log") == []
    assert saw(operator, "CapFence deny: internal_error: audit log not writable")
