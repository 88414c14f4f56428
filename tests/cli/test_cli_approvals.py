"""``capfence approvals`` against a real audit database, through the real executable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from tests.support.cli import run
from tests.support.policies import HOLD_REFUNDS


@pytest.fixture
def held(tmp_path: Path) -> tuple[Path, Path, str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(HOLD_REFUNDS)
    audit = tmp_path / "audit.db"
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = CapFenceTool(
            tool=lambda amount: "refunded",
            agent_id="billing",
            capability="payments.refund",
            gate=runtime,
            name="refund",
        )
        with pytest.raises(ApprovalRequired) as info:
            tool(amount=12)
    return policy, audit, str(info.value.request_id)


def test_list_and_show(held):
    _, audit, request_id = held
    listed = run("approvals", "list", "--status", "pending", "--audit-log", audit).stdout
    assert request_id in listed and "payments.refund" in listed and "refund" in listed
    document = json.loads(
        run("approvals", "show", request_id, "--audit-log", audit, "--format", "json").stdout
    )
    assert (
        document["status"] == "pending"
        and document["payload"] == {"amount": 12}
        and document["rule"] == "refunds"
    )
    assert run("approvals", "list", "--status", "denied", "--audit-log", audit).stdout.startswith(
        "No approval requests"
    )


def test_approve_records_who_and_lets_the_call_run_once(held):
    policy, audit, request_id = held
    out = run(
        "approvals", "approve", request_id, "--as", "alice", "--comment", "ticket 7", "--audit-log", audit
    ).stdout
    assert out.strip() == f"{request_id} approved by alice"
    document = json.loads(
        run("approvals", "show", request_id, "--audit-log", audit, "--format", "json").stdout
    )
    assert (document["decided_by"], document["comment"]) == ("alice", "ticket 7")
    ran: list[int] = []

    def refund(amount: int) -> None:
        ran.append(amount)

    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = CapFenceTool(
            tool=refund, agent_id="billing", capability="payments.refund", gate=runtime, name="refund"
        )
        tool(amount=12)
        with pytest.raises(ApprovalRequired):
            tool(amount=12)
    assert ran == [12]


def test_identity_defaults_to_the_environment(held):
    _, audit, request_id = held
    out = run(
        "approvals", "deny", request_id, "--audit-log", audit, env={"CAPFENCE_APPROVER": "oncall-bob"}
    ).stdout
    assert out.strip() == f"{request_id} denied by oncall-bob"


def test_errors_are_one_line(held, tmp_path):
    _, audit, request_id = held
    run("approvals", "approve", request_id, "--as", "a", "--audit-log", audit)
    again = run("approvals", "approve", request_id, "--as", "b", "--audit-log", audit, check=1)
    assert (
        again.stderr.strip()
        == f"capfence: error: approval request {request_id} is approved; cannot change it to approved"
    )
    missing = run("approvals", "list", "--audit-log", tmp_path / "nope.db", check=1)
    assert len(missing.stderr.strip().splitlines()) == 1 and "does not exist" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
    unknown = run("approvals", "show", "apr_0000", "--audit-log", audit, check=1)
    assert "no approval request" in unknown.stderr and "Traceback" not in unknown.stderr


def test_show_names_the_environment_of_the_held_call(tmp_path):
    """Two identical calls held in staging and in production are two requests: the approver is told which is which."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("require_approval:\n  - id: deploys\n    capability: deploy.run\n")
    audit, held = tmp_path / "audit.db", {}
    for environment in ("staging", "production"):
        with ActionRuntime.from_policy(policy, audit_log=audit, environment=environment) as runtime:
            tool = CapFenceTool(
                tool=lambda service: "deployed",
                agent_id="ops",
                capability="deploy.run",
                gate=runtime,
                name="deploy",
            )
            with pytest.raises(ApprovalRequired) as info:
                tool(service="db")
            held[environment] = str(info.value.request_id)
    for environment, request_id in held.items():
        document = json.loads(
            run("approvals", "show", request_id, "--audit-log", audit, "--format", "json").stdout
        )
        assert document["environment"] == environment
        assert (
            f"environment:   {environment}\n"
            in run("approvals", "show", request_id, "--audit-log", audit).stdout
        )


def test_list_has_a_header_row(held):
    _, audit, request_id = held
    run("approvals", "approve", request_id, "--as", "alice", "--audit-log", audit)
    lines = run("approvals", "list", "--audit-log", audit).stdout.splitlines()
    assert lines[0].split() == [
        "id",
        "status",
        "decided",
        "by",
        "agent",
        "tool",
        "capability",
        "expires",
        "payload",
    ]
    assert lines[2].split()[:6] == [request_id, "approved", "alice", "billing", "refund", "payments.refund"]
    assert lines[2].endswith('{"amount":12}')


def test_deciding_commands_say_the_log_is_written(held):
    for verb in ("approve", "deny"):
        out = run("approvals", verb, "--help").stdout
        assert "the decision is recorded in it" in out and "to read" not in out
