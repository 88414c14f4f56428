"""Approval state is honoured only when the hash chain backs it: an edited ``approvals`` table runs nothing and fails ``verify``.

Each test edits a real SQLite audit log the way someone with write access to
the file would (plain SQL, no CapFence code), then calls the gated tool again
through a real runtime and runs the real ``capfence verify``. Every scenario
runs with an unkeyed chain and with a keyed one (``CAPFENCE_AUDIT_KEY``).
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool, ToolCallDenied
from capfence.approvals.requests import ApprovalStateError
from tests.support.approvals import held, verify
from tests.support.audit import audit_rows
from tests.support.cli import run
from tests.support.policies import HOLD_PAYMENTS


@pytest.fixture
def gate(
    tmp_path: Path, audit_key: str | None
) -> Iterator[tuple[ActionRuntime, Callable[..., Any], list[int]]]:
    """A runtime over ``tmp_path/audit.db``, a gated refund tool, and the amounts it actually refunded."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(HOLD_PAYMENTS))
    ran: list[int] = []

    def refund(amount: int) -> str:
        ran.append(amount)
        return f"refunded {amount}"

    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as runtime:
        yield (
            runtime,
            CapFenceTool(
                tool=refund, agent_id="billing", capability="payments.refund", gate=runtime, name="refund"
            ),
            ran,
        )


def sql(audit: Path, statement: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(audit)
    with conn:
        assert conn.execute(statement, params).rowcount == 1
    conn.close()


def row(audit: Path, request_id: str) -> dict[str, Any]:
    conn = sqlite3.connect(audit)
    conn.row_factory = sqlite3.Row
    found = conn.execute("SELECT * FROM approvals WHERE id = ?", (request_id,)).fetchone()
    conn.close()
    return dict(found)


def assert_unbacked(audit: Path, key: str | None, *request_ids: str) -> None:
    status, out = verify(audit, key)
    assert status == 1, out
    assert out.splitlines()[0].endswith(
        f"TAMPERED (unbacked): {len(request_ids)} approval request(s) not backed by the audit chain"
    ), out
    lines = [line for line in out.splitlines() if "is not backed by the audit chain:" in line]
    assert len(lines) == len(request_ids), out  # one line per row
    for request_id in request_ids:
        assert sum(f"approval request {request_id} is not backed" in line for line in lines) == 1, out


def denied_unbacked(tool: Callable[..., Any], request_id: str, **kwargs: object) -> str:
    """Call ``tool``: it must be denied (not held again) because request ``request_id`` is not backed by the chain."""
    with pytest.raises(ToolCallDenied) as info:
        tool(**kwargs)
    assert not isinstance(info.value, ApprovalRequired), str(info.value)
    assert f"approval request {request_id} is not backed by the audit chain" in str(info.value)
    return str(info.value)


# --- the table edited ----------------------------------------------------------------------------------


def test_pending_set_to_approved_runs_nothing(gate, tmp_path: Path, audit_key: str | None) -> None:
    _, refund, ran = gate
    audit = tmp_path / "audit.db"
    request_id = held(refund, amount=500)
    sql(
        audit,
        "UPDATE approvals SET status = 'approved', decided_by = 'alice', decided_at = created WHERE id = ?",
        (request_id,),
    )
    reason = denied_unbacked(refund, request_id, amount=500)
    assert "status is 'approved' in the table but 'pending' in the chain" in reason
    assert ran == [] and row(audit, request_id)["status"] == "approved", "not consumed"
    assert_unbacked(audit, audit_key, request_id)


def test_approver_renamed_runs_nothing(gate, tmp_path: Path, audit_key: str | None) -> None:
    runtime, refund, ran = gate
    audit = tmp_path / "audit.db"
    request_id = held(refund, amount=500)
    runtime.approvals.approve(request_id, by="intern")
    sql(audit, "UPDATE approvals SET decided_by = 'cfo' WHERE id = ?", (request_id,))
    assert "decided_by is 'cfo' in the table but 'intern' in the chain" in denied_unbacked(
        refund, request_id, amount=500
    )
    assert ran == [] and row(audit, request_id)["status"] == "approved"
    assert_unbacked(audit, audit_key, request_id)


def test_denied_set_back_to_pending_stays_denied(gate, tmp_path: Path, audit_key: str | None) -> None:
    runtime, refund, ran = gate
    audit = tmp_path / "audit.db"
    request_id = held(refund, amount=500)
    runtime.approvals.deny(request_id, by="bob")
    sql(
        audit,
        "UPDATE approvals SET status = 'pending', decided_by = NULL, decided_at = NULL WHERE id = ?",
        (request_id,),
    )
    denied_unbacked(refund, request_id, amount=500)
    with pytest.raises(
        ApprovalStateError, match=f"approval request {request_id} is not backed by the audit chain"
    ):
        runtime.approvals.approve(request_id, by="mallory")  # nor can it be approved now
    denied_unbacked(refund, request_id, amount=500)
    assert ran == [] and row(audit, request_id)["status"] == "pending"
    assert_unbacked(audit, audit_key, request_id)


def test_consumed_set_back_to_approved_runs_nothing_twice(
    gate, tmp_path: Path, audit_key: str | None
) -> None:
    runtime, refund, ran = gate
    audit = tmp_path / "audit.db"
    request_id = held(refund, amount=500)
    runtime.approvals.approve(request_id, by="alice")
    assert refund(amount=500) == "refunded 500"
    sql(audit, "UPDATE approvals SET status = 'approved', consumed_at = NULL WHERE id = ?", (request_id,))
    denied_unbacked(refund, request_id, amount=500)
    assert ran == [500]
    assert_unbacked(audit, audit_key, request_id)


def test_digest_swapped_onto_another_call_runs_nothing(gate, tmp_path: Path, audit_key: str | None) -> None:
    runtime, refund, ran = gate
    audit = tmp_path / "audit.db"
    small = held(refund, amount=5)
    large = held(refund, amount=50_000)
    runtime.approvals.approve(small, by="alice")
    # alice's approval, the large refund
    sql(audit, "UPDATE approvals SET digest = ? WHERE id = ?", (row(audit, large)["digest"], small))
    assert "digest is " in denied_unbacked(refund, small, amount=50_000)
    assert ran == [] and row(audit, small)["status"] == "approved"
    assert_unbacked(audit, audit_key, small)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("payload", '{"amount":5}'),
        ("capability", "payments.quick"),
        ("tool", "lunch"),
        ("agent_id", "intern"),
        ("rule", "quick"),
    ],
)
def test_what_a_human_is_shown_edited_cannot_be_approved(
    gate, tmp_path: Path, audit_key: str | None, column: str, value: str
) -> None:
    """The row shows a harmless call while its digest is still the held one: approving it would let the real call run."""
    runtime, refund, ran = gate
    audit = tmp_path / "audit.db"
    request_id = held(refund, amount=500_000)
    sql(audit, f"UPDATE approvals SET {column} = ? WHERE id = ?", (value, request_id))
    with pytest.raises(
        ApprovalStateError, match=f"approval request {request_id} is not backed by the audit chain"
    ):
        runtime.approvals.approve(request_id, by="alice")
    assert "in the table differ from the chain" in denied_unbacked(refund, request_id, amount=500_000)
    assert ran == [] and row(audit, request_id)["status"] == "pending"
    assert_unbacked(audit, audit_key, request_id)


def test_forged_row_runs_nothing(gate, tmp_path: Path, audit_key: str | None) -> None:
    _, refund, ran = gate
    audit = tmp_path / "audit.db"
    genuine = held(refund, amount=500)
    columns = "created, expires, agent_id, framework, tool, capability, payload, digest, policy_digest, rule, decision_seq"
    sql(
        audit,
        f"INSERT INTO approvals (id, status, decided_by, decided_at, {columns}) "
        f"SELECT 'apr_forged', 'approved', 'alice', created, {columns} FROM approvals WHERE id = ?",
        (genuine,),
    )
    assert "no approval record for it in the audit chain" in denied_unbacked(refund, "apr_forged", amount=500)
    assert ran == [] and row(audit, "apr_forged")["status"] == "approved"
    status, out = verify(audit, audit_key)
    assert (
        status == 1
        and "approval request apr_forged is not backed by the audit chain: no record of its creation" in out
    )
    assert_unbacked(audit, audit_key, "apr_forged")


def test_record_and_row_both_edited_run_nothing(gate, tmp_path: Path, audit_key: str | None) -> None:
    """The latest approval record rewritten to say approved (its hash left alone), and the row to match."""
    _, refund, ran = gate
    audit = tmp_path / "audit.db"
    request_id = held(refund, amount=500)
    (created,) = [r for r in audit_rows(audit, "approval") if json.loads(r["detail"])["id"] == request_id]
    forged = {**json.loads(created["detail"]), "from": "pending", "status": "approved", "decided_by": "alice"}
    sql(audit, "UPDATE records SET detail = ? WHERE seq = ?", (json.dumps(forged), created["seq"]))
    sql(audit, "UPDATE approvals SET status = 'approved', decided_by = 'alice' WHERE id = ?", (request_id,))
    assert "does not match its hash" in denied_unbacked(refund, request_id, amount=500)
    assert ran == [] and row(audit, request_id)["status"] == "approved"
    status, out = verify(audit, audit_key)
    assert status == 1 and f"TAMPERED at seq {created['seq']} (modified)" in out


# --- the honest lifecycle ------------------------------------------------------------------------------


def test_lifecycle_is_chained_and_verifies(gate, tmp_path: Path, audit_key: str | None) -> None:
    runtime, refund, ran = gate
    audit = tmp_path / "audit.db"
    approved = held(refund, amount=10)
    run(
        "approvals",
        "approve",
        approved,
        "--as",
        "alice",
        "--audit-log",
        audit,
        env={"CAPFENCE_AUDIT_KEY": audit_key} if audit_key else None,
    )
    assert refund(amount=10) == "refunded 10" and ran == [10]
    denied = held(refund, amount=10)  # single use: the same call is held again
    run(
        "approvals",
        "deny",
        denied,
        "--as",
        "bob",
        "--audit-log",
        audit,
        env={"CAPFENCE_AUDIT_KEY": audit_key} if audit_key else None,
    )
    with pytest.raises(ToolCallDenied, match="denied by bob"):
        refund(amount=10)

    def quick_refund(amount: int) -> None:
        ran.append(amount)

    quick = CapFenceTool(
        tool=quick_refund, agent_id="billing", capability="payments.quick", gate=runtime, approval_wait=30
    )
    with pytest.raises(ToolCallDenied, match="expired"):
        quick(amount=1)  # waits (sleeping) for a decision until the request expires
    (expired,) = [r.id for r in runtime.approvals.list("expired")]
    assert ran == [10]

    trail = [json.loads(r["detail"]) for r in audit_rows(audit, "approval")]
    assert [(t["id"], t["from"], t["status"], t["decided_by"]) for t in trail] == [
        (approved, None, "pending", None),
        (approved, "pending", "approved", "alice"),
        (approved, "approved", "consumed", "alice"),
        (denied, None, "pending", None),
        (denied, "pending", "denied", "bob"),
        (expired, None, "pending", None),
        (expired, "pending", "expired", None),
    ]
    for state in trail:  # each record binds the call and the expiry the row holds
        assert (state["digest"], state["expires"]) == (
            row(audit, state["id"])["digest"],
            row(audit, state["id"])["expires"],
        )
    assert row(audit, approved)["digest"] == row(audit, denied)["digest"] != row(audit, expired)["digest"]
    status, out = verify(audit, audit_key)
    assert status == 0 and "OK: " in out and "not backed" not in out, out
