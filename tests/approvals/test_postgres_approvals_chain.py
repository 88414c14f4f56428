"""Approval state backed by the chain, on a real PostgreSQL server: an edited ``approvals`` table runs nothing and fails ``verify``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import psycopg
import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool, ToolCallDenied
from capfence.audit.reader import open_reader
from capfence.plugins import build_registry
from tests.support.approvals import held, verify
from tests.support.policies import HOLD_REFUNDS


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute(statement, params).rowcount == 1


def status_of(url: str, request_id: str) -> str:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT status FROM approvals WHERE id = %s", (request_id,)).fetchone()
    assert found is not None
    return str(found[0])


def test_edited_rows_run_nothing_and_fail_verify(tmp_path: Path, pg_url: str, audit_key: str | None) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(HOLD_REFUNDS))
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: ran.append(amount),  # noqa: PLW0108
            agent_id="billing",
            capability="payments.refund",
            gate=runtime,
        )
        pending = held(refund, amount=500)
        sql(
            pg_url, "UPDATE approvals SET status = 'approved', decided_by = 'alice' WHERE id = %s", (pending,)
        )
        renamed = held(refund, amount=7)
        runtime.approvals.approve(renamed, by="intern")
        sql(pg_url, "UPDATE approvals SET decided_by = 'cfo' WHERE id = %s", (renamed,))
        for amount, request_id in ((500, pending), (7, renamed)):
            with pytest.raises(ToolCallDenied) as info:
                refund(amount=amount)
            assert not isinstance(info.value, ApprovalRequired)
            assert f"approval request {request_id} is not backed by the audit chain" in str(info.value)
            assert status_of(pg_url, request_id) == "approved", "not consumed"
    assert ran == []
    status, out = verify(pg_url, audit_key)
    assert (
        status == 1 and "TAMPERED (unbacked): 2 approval request(s) not backed by the audit chain" in out
    ), out
    assert (
        f"approval request {pending} is not backed by the audit chain: status is 'approved' in the table but 'pending'"
        in out
    )
    assert (
        f"approval request {renamed} is not backed by the audit chain: decided_by is 'cfo' in the table but 'intern'"
        in out
    )


def test_honest_lifecycle_is_chained_and_verifies(tmp_path: Path, pg_url: str, audit_key: str | None) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(HOLD_REFUNDS))
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: ran.append(amount),  # noqa: PLW0108
            agent_id="billing",
            capability="payments.refund",
            gate=runtime,
        )
        approved = held(refund, amount=10)
        runtime.approvals.approve(approved, by="alice")
        refund(amount=10)
        denied = held(refund, amount=10)
        runtime.approvals.deny(denied, by="bob")
        with pytest.raises(ToolCallDenied, match="denied by bob"):
            refund(amount=10)
    assert ran == [10]
    with open_reader(pg_url, build_registry().stores) as reader:
        trail = [json.loads(r["detail"]) for r in reader.records() if r["kind"] == "approval"]
    assert [(t["id"], t["from"], t["status"], t["decided_by"]) for t in trail] == [
        (approved, None, "pending", None),
        (approved, "pending", "approved", "alice"),
        (approved, "approved", "consumed", "alice"),
        (denied, None, "pending", None),
        (denied, "pending", "denied", "bob"),
    ]
    assert all(t["digest"] and t["expires"] for t in trail)
    status, out = verify(pg_url, audit_key)
    assert status == 0 and "OK: " in out, out
