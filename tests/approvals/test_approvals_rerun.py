"""A framework re-running one held call (LangGraph resume, LlamaIndex step replay): keyed by the call id.

Deciding the same call (same ``call_id``) again reuses its decision record while
its request is pending or denied; once its own request expired, the re-run is
denied instead of filing a second request. A new call (another id, or none)
files a new request as before.
"""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from capfence import ActionRuntime, Decision
from tests.support.audit import decided_call_ids

POLICY = """
require_approval:
  - id: refunds
    capability: payments.refund
  - id: quick
    capability: payments.quick
    approval_timeout: 0.5
"""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[ActionRuntime]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as rt:
        yield rt


def decide(
    runtime: ActionRuntime,
    capability: str = "payments.refund",
    call_id: str | None = "call-1",
    amount: int = 5,
) -> Decision:
    return runtime.evaluate(
        capability, {"amount": amount}, agent_id="billing", tool="refund", framework="test", call_id=call_id
    )


def test_a_pending_call_decided_again_is_recorded_once(runtime: ActionRuntime) -> None:
    first, again = decide(runtime), decide(runtime)
    assert first.action == again.action == "require_approval"
    assert first.approval_id == again.approval_id and first.record_id == again.record_id
    assert decided_call_ids(runtime.audit_log) == [("require_approval", "call-1")]
    assert len(runtime.approvals.list()) == 1


def test_another_call_with_the_same_arguments_is_recorded_and_shares_the_request(
    runtime: ActionRuntime,
) -> None:
    first, other = decide(runtime), decide(runtime, call_id="call-2")
    assert first.approval_id == other.approval_id and first.record_id != other.record_id
    assert decided_call_ids(runtime.audit_log) == [
        ("require_approval", "call-1"),
        ("require_approval", "call-2"),
    ]


def test_approved_call_runs_once_then_a_rerun_needs_a_new_approval(runtime: ActionRuntime) -> None:
    held = decide(runtime)
    runtime.approvals.approve(str(held.approval_id), by="alice")
    assert decide(runtime).action == "allow"
    rerun = decide(runtime)  # e.g. a checkpoint replayed after the tool ran: single use holds
    assert rerun.action == "require_approval" and rerun.approval_id != held.approval_id
    assert [r.status for r in runtime.approvals.list()] == ["consumed", "pending"]


def test_a_denied_call_decided_again_is_recorded_once(runtime: ActionRuntime) -> None:
    held = decide(runtime)
    runtime.approvals.deny(str(held.approval_id), by="alice")
    assert decide(runtime).action == decide(runtime).action == "deny"
    assert decided_call_ids(runtime.audit_log) == [("require_approval", "call-1"), ("deny", "call-1")]


def test_a_call_whose_request_expired_is_denied_without_a_new_request(runtime: ActionRuntime) -> None:
    held = decide(runtime, "payments.quick")
    time.sleep(0.7)
    rerun, again = decide(runtime, "payments.quick"), decide(runtime, "payments.quick")
    assert rerun.action == again.action == "deny"
    assert rerun.reason == f"approval request {held.approval_id} expired without a decision"
    assert [(r.id, r.status) for r in runtime.approvals.list()] == [(held.approval_id, "expired")]
    assert decided_call_ids(runtime.audit_log) == [("require_approval", "call-1"), ("deny", "call-1")]
    # a new call (another call id, or none) with the same arguments files a new request
    assert decide(runtime, "payments.quick", call_id="call-2").action == "require_approval"
    assert decide(runtime, "payments.quick", call_id=None).action == "require_approval"
    assert [r.status for r in runtime.approvals.list()] == ["expired", "pending"]
