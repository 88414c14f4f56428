"""Provenance in the audit record itself: what decided, the rule's file and line, the approver.

It lives in the record's ``detail``, a field the chain has always hashed: records written
before it existed keep verifying, and a log mixing both verifies. ``logs``, ``export``,
``explain`` and ``replay`` show it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from capfence import ActionRuntime
from capfence.audit.provenance import describe, provenance
from capfence.audit.sqlite import SQLiteStore
from capfence.testing import audit_rows
from tests.support.cli import run

POLICY = """\
deny:
  - id: no-secrets
    capability: "*"
    contains: secret
require_approval:
  - id: hold-deploys
    capability: deploy.production
    approval_timeout: 1s
allow:
  - id: reads
    capability: filesystem.read
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path.resolve()


@pytest.fixture
def runtime(tmp_path: Path, policy: Path) -> ActionRuntime:
    rt = ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db")
    yield rt
    rt.close()


def details(runtime: ActionRuntime) -> list[dict[str, object]]:
    return [json.loads(row["detail"]) for row in audit_rows(runtime.audit_log)]


def test_rule_and_default_decisions_carry_their_provenance(runtime: ActionRuntime, policy: Path) -> None:
    assert runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a").decided_by == "rule"
    assert runtime.evaluate("net.fetch", {"url": "x"}, agent_id="a").decided_by == "default"
    runtime.evaluate("filesystem.read", {"path": "secret"}, agent_id="a", call_id="c1")
    rule, default, with_call = details(runtime)
    assert rule == {"decided_by": "rule", "rule_source": str(policy), "rule_line": 10}
    assert default == {"decided_by": "default"}
    assert with_call["decided_by"] == "rule" and with_call["rule_line"] == 2 and with_call["call_id"] == "c1"


def test_an_internal_error_says_so(runtime: ActionRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("policy store unreadable")

    monkeypatch.setattr(runtime._watcher, "current", broken)
    decision = runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a")
    assert decision.action == "deny" and decision.decided_by == "internal_error"
    assert details(runtime) == [{"decided_by": "internal_error"}]


def test_approvals_record_the_approver_and_expiry(runtime: ActionRuntime, policy: Path) -> None:
    held = runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a")
    runtime.approvals.approve(str(held.approval_id), by="alice")
    approved = runtime.evaluate("deploy.production", {"service": "api"}, agent_id="a")
    assert (
        approved.action == "allow"
        and approved.provenance is not None
        and approved.provenance.approver == "alice"
    )
    expiring = runtime.evaluate("deploy.production", {"service": "web"}, agent_id="a", call_id="c2")
    deadline = time.monotonic() + 30
    # the 1 s approval timeout passes
    while runtime.approvals.get(str(expiring.approval_id)).status != "expired":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    expired = runtime.evaluate("deploy.production", {"service": "web"}, agent_id="a", call_id="c2")
    assert expired.action == "deny" and expired.decided_by == "approval_timeout"
    filed, by_alice, _, timed_out = details(runtime)
    assert filed["decided_by"] == "rule" and filed["rule_line"] == 6
    assert by_alice == {
        "approval_id": held.approval_id,
        "approver": "alice",
        "decided_by": "approval",
        "rule_line": 6,
        "rule_source": str(policy),
    }
    assert (
        timed_out["decided_by"] == "approval_timeout"
        and timed_out["rule_line"] == 6
        and "approver" not in timed_out
    )
    shown = describe({"detail": json.dumps(by_alice)})
    assert shown.startswith("approval by alice (") and shown.endswith("policy.yaml:6)")


def test_records_written_before_provenance_keep_verifying(tmp_path: Path, policy: Path) -> None:
    audit = tmp_path / "audit.db"
    store = SQLiteStore(str(audit))
    legacy = {
        "ts": "2026-01-01T00:00:00.000000+00:00",
        "kind": "decision",
        "agent_id": "a",
        "capability": "filesystem.read",
        "payload": "{}",
        "decision": "allow",
        "rule": "reads",
        "reason": "old",
        "detail": None,
    }
    store.append(legacy)
    store.append({**legacy, "rule": None, "decision": "deny", "reason": "internal_error: old failure"})
    store.close()
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a")
    run("verify", "--audit-log", audit)  # exits 0: the chain holds across old and new records
    old, failed, new = audit_rows(audit)
    assert provenance(old) == {"decided_by": "rule", "rule_source": None, "rule_line": None, "approver": None}
    assert provenance(failed)["decided_by"] == "internal_error"
    assert provenance(new)["rule_line"] == 10


def test_logs_export_explain_and_replay_show_it(tmp_path: Path, runtime: ActionRuntime, policy: Path) -> None:
    runtime.evaluate("filesystem.read", {"path": "a"}, agent_id="a")
    runtime.evaluate("net.fetch", {"url": "x"}, agent_id="a")
    audit = runtime.audit_log
    table = run("logs", "--audit-log", audit, "--wide").stdout
    assert "rule " in table and "policy.yaml:10" in table and " default " in table
    (first, second) = [json.loads(line) for line in run("export", "--audit-log", audit).stdout.splitlines()]
    assert first["detail"] == {"decided_by": "rule", "rule_source": str(policy), "rule_line": 10}
    assert second["detail"] == {"decided_by": "default"}
    explained = json.loads(
        run(
            "explain", "-p", policy, "-c", "filesystem.read", "--payload", '{"path": "a"}', "--format", "json"
        ).stdout
    )
    assert (explained["decided_by"], explained["rule_source"], explained["rule_line"]) == (
        "rule",
        str(policy),
        10,
    )
    text = run("explain", "-p", policy, "-c", "filesystem.read", "--payload", '{"path": "a"}').stdout
    assert f"({policy}:10)" in text
    replayed = json.loads(run("replay", audit, "--policy", policy, "--format", "json").stdout)
    rows = {r["replayed"]: r for r in replayed["records"]}
    assert (rows["allow"]["decided_by"], rows["allow"]["rule_source"], rows["allow"]["rule_line"]) == (
        "rule",
        str(policy),
        10,
    )
    assert (rows["deny"]["decided_by"], rows["deny"]["rule_source"]) == ("default", None)
