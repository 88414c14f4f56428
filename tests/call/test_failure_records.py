"""A call denied because something failed before the policy could decide it is recorded like every decision.

``ActionRuntime.record_failure`` and ``Binding.fail_closed``: the deny is written through the
same audit path and chain (real SQLite files, ``capfence verify`` as a real subprocess), with the
policy's redaction, provenance ``internal_error``, observers told, and the ``blocked`` outcome
linked to it. The core's own failure paths (a gate that raises, an approval queue that cannot
be read) go the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime, Binding, CallView, CapFenceTool, Decision, ToolCallDenied
from capfence.approvals.requests import Approvals
from tests.support.audit import audit_rows
from tests.support.cli import run
from tests.support.gates import BrokenGate
from tests.support.observers import RecordingObserver

ALLOW_ALL = """
redact: [token]
allow:
  - id: everything
    capability: "*"
"""


def view(payload: dict[str, Any] | None = None) -> CallView:
    return CallView("mcp.demo.write", payload or {}, "bot", None, "demo/write", "mcp", None)


def test_a_failure_is_a_chained_deny_record_with_internal_error_provenance(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    observer = RecordingObserver()
    rt = runtime(ALLOW_ALL)
    rt.plugins.manager.register(observer)
    rt.evaluate("x", {}, agent_id="a")  # a decision before it: the failure joins the same chain
    decision = rt.record_failure(view({"token": "s3cret", "name": "w.txt"}), "the tool's schema is unknown")

    assert (decision.action, decision.rule, decision.decided_by) == ("deny", None, "internal_error")
    assert decision.reason == "internal_error: the tool's schema is unknown"
    assert decision.policy_digest == rt.policy.digest, (
        "the policy whose redaction the record was written under"
    )
    _, row = audit_rows(tmp_path / "audit.db", "decision")
    assert row["seq"] == decision.record_id
    assert (row["agent_id"], row["tool"], row["capability"], row["framework"], row["decision"]) == (
        "bot",
        "demo/write",
        "mcp.demo.write",
        "mcp",
        "deny",
    )
    assert row["reason"] == decision.reason and row["rule"] is None
    assert json.loads(row["detail"]) == {"decided_by": "internal_error"}
    assert "s3cret" not in row["payload"] and row["redacted"] == 1, "the policy's redaction applies"
    assert observer.seen[-1] == decision, "observers are told, as of every decision"
    rt.close()
    assert "OK" in run("verify", "--audit-log", tmp_path / "audit.db").stdout


def test_a_failure_that_cannot_be_written_still_denies_and_says_so(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(ALLOW_ALL)
    # the audit log's path is a directory: nothing can be written
    with ActionRuntime.from_policy(policy, audit_log=tmp_path) as rt:
        decision = rt.record_failure(view(), "the tool's schema is unknown")
    assert decision.action == "deny" and decision.record_id is None
    assert decision.reason.startswith("internal_error: audit log not writable"), decision.reason


def test_fail_closed_records_the_deny_then_the_blocked_outcome(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(ALLOW_ALL)
    binding = Binding(rt, "bot", "mcp.demo.write", "mcp", "demo/write")
    decision, seen = binding.fail_closed({"name": "w.txt"}, "arguments unreadable")
    assert (seen.capability, seen.payload) == ("mcp.demo.write", {"name": "w.txt"})
    rt.close()
    [row] = audit_rows(tmp_path / "audit.db", "decision")
    assert (row["seq"], row["reason"]) == (decision.record_id, "internal_error: arguments unreadable")
    [outcome] = audit_rows(tmp_path / "audit.db", "outcome")
    assert (outcome["outcome"], outcome["ref"], outcome["decision"]) == ("blocked", row["seq"], "deny")


class GateWhoseRecordFails(BrokenGate):
    """A gate whose decide raises, and whose record_failure too."""

    def record_failure(self, view: CallView, reason: str) -> Decision:
        raise OSError("injected record fault")


@pytest.mark.parametrize(
    ("gate", "reason"),
    [
        (BrokenGate(), "internal_error: arguments unreadable"),
        (
            GateWhoseRecordFails(),
            "internal_error: arguments unreadable (not recorded: OSError: injected record fault)",
        ),
    ],
    ids=["no-record_failure", "record_failure-raises"],
)
def test_fail_closed_denies_whatever_the_gate_can_record(gate: BrokenGate, reason: str) -> None:
    decision, _ = Binding(gate, "bot", "x", "plain").fail_closed({}, reason="arguments unreadable")
    assert (decision.action, decision.reason, decision.record_id) == ("deny", reason, None)
    assert gate.outcomes == ["blocked"]


class GateThatRecordsNothing(GateWhoseRecordFails):
    """A gate whose decide, record_failure and record_outcome all raise."""

    def record_outcome(self, *args: object, **kwargs: object) -> None:
        raise OSError("injected outcome fault")


def test_fail_closed_never_raises() -> None:
    decision, _ = Binding(GateThatRecordsNothing(), "bot", "x", "plain").fail_closed(
        {}, "arguments unreadable"
    )
    assert decision.action == "deny"
    assert (
        decision.reason
        == "internal_error: arguments unreadable (not recorded: OSError: injected record fault)"
    )


def test_a_runtime_whose_decide_raises_records_the_deny(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime(ALLOW_ALL)
    ran: list[str] = []

    def write(content: str) -> str:
        ran.append(content)
        return "written"

    def broken(view: object) -> Decision:
        raise RuntimeError("injected")

    monkeypatch.setattr(rt, "decide", broken)
    safe = CapFenceTool(tool=write, agent_id="a", capability="fs.write", gate=rt)
    with pytest.raises(ToolCallDenied, match="gate failed: RuntimeError: injected") as caught:
        safe(content="x")
    assert ran == []
    rt.close()
    [row] = audit_rows(tmp_path / "audit.db", "decision")
    assert (row["seq"], row["capability"], row["decision"]) == (
        caught.value.decision.record_id,
        "fs.write",
        "deny",
    )
    assert [o["outcome"] for o in audit_rows(tmp_path / "audit.db", "outcome")] == ["blocked"]


def test_an_approval_queue_that_cannot_be_read_records_the_deny(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = runtime("require_approval:\n  - id: refunds\n    capability: payments.refund\n")
    ran: list[int] = []

    def refund(amount: int) -> str:
        ran.append(amount)
        return "refunded"

    def unreadable(self: Approvals, request_id: str, timeout: float) -> Any:
        raise OSError("injected queue fault")

    monkeypatch.setattr(Approvals, "wait", unreadable)
    tool = CapFenceTool(tool=refund, agent_id="a", capability="payments.refund", gate=rt, approval_wait=5)
    with pytest.raises(ToolCallDenied, match="approval lookup failed: OSError: injected queue fault"):
        tool(amount=5)
    assert ran == []
    rt.close()
    rows = audit_rows(tmp_path / "audit.db")
    assert [
        (r["kind"], r["decision"], r["outcome"]) for r in rows if r["kind"] in ("decision", "outcome")
    ] == [
        ("decision", "require_approval", None),
        ("outcome", "require_approval", "held"),
        ("decision", "deny", None),
        ("outcome", "deny", "blocked"),
    ]
    assert "approval lookup failed" in [r for r in rows if r["kind"] == "decision"][1]["reason"]
    assert "OK" in run("verify", "--audit-log", tmp_path / "audit.db").stdout
