"""require_approval end to end in the core: durable, digest-bound, single-use, expiring requests."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool, ToolCallDenied
from capfence.approvals.approvers import CallbackApprover, ConsoleApprover
from capfence.approvals.requests import ApprovalStateError
from capfence.audit.chain import GENESIS, record_hash
from capfence.audit.sqlite import COLUMNS
from tests.support.policies import HOLD_PAYMENTS


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(HOLD_PAYMENTS))
    return policy, tmp_path / "audit.db"


def make_tool(runtime: ActionRuntime, ran: list[int], capability: str = "payments.refund", **kwargs: object):
    def refund(amount: int, order: str = "o-1") -> str:
        ran.append(amount)
        return f"refunded {amount}"

    return CapFenceTool(tool=refund, agent_id="billing-agent", capability=capability, gate=runtime, **kwargs)


def held_id(tool, **kwargs: object) -> str:
    with pytest.raises(ApprovalRequired) as info:
        tool(**kwargs)
    assert info.value.request_id and info.value.request_id.startswith("apr_")
    return info.value.request_id


def test_held_call_does_not_run_and_retry_reuses_the_request(setup):
    policy, audit = setup
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = make_tool(runtime, ran)
        first = held_id(tool, amount=10)
        assert held_id(tool, amount=10) == first
        assert ran == []
        (request,) = runtime.approvals.list("pending")
        assert request.id == first and request.agent_id == "billing-agent" and request.rule == "refunds"
        assert json.loads(request.payload) == {"amount": 10, "order": "o-1"}


def test_approval_is_single_use_and_bound_to_the_arguments(setup):
    policy, audit = setup
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = make_tool(runtime, ran)
        request_id = held_id(tool, amount=10)
        approved = runtime.approvals.approve(request_id, by="alice", comment="ok")
        assert (approved.status, approved.decided_by, approved.comment) == ("approved", "alice", "ok")
        other = held_id(tool, amount=11)  # a changed argument is a new request, not the approved one
        assert other != request_id and ran == []
        assert tool(amount=10) == "refunded 10"
        assert runtime.approvals.get(request_id).status == "consumed"
        again = held_id(tool, amount=10)  # used once: the next identical call needs a new approval
        assert again not in (request_id, other) and ran == [10]


def test_an_approval_is_bound_to_the_environment(tmp_path):
    """Staging and production share one audit store and policy: approving the staging call never runs it in production."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "require_approval:\n  - id: deploys\n    capability: deploy.run\n    environment: [staging, production]\n"
    )
    ran: list[str] = []

    def deploy(service: str) -> str:
        ran.append(service)
        return "deployed"

    with (
        ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db", environment="staging") as staging,
        ActionRuntime.from_policy(
            policy, audit_log=tmp_path / "audit.db", environment="production"
        ) as production,
    ):
        in_staging = CapFenceTool(tool=deploy, agent_id="ops", capability="deploy.run", gate=staging)
        in_production = CapFenceTool(tool=deploy, agent_id="ops", capability="deploy.run", gate=production)
        request_id = held_id(in_staging, service="db")
        staging.approvals.approve(request_id, by="alice")
        assert held_id(in_production, service="db") != request_id
        assert ran == []
        assert in_staging(service="db") == "deployed" and ran == ["db"]


def test_denied_request_denies_every_retry(setup):
    policy, audit = setup
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = make_tool(runtime, ran)
        request_id = held_id(tool, amount=99)
        runtime.approvals.deny(request_id, by="bob")
        for _ in range(3):
            with pytest.raises(ToolCallDenied) as info:
                tool(amount=99)
            assert not isinstance(info.value, ApprovalRequired)
            assert "denied by bob" in str(info.value)
        with pytest.raises(ApprovalStateError):
            runtime.approvals.approve(request_id, by="mallory")
        assert ran == []


def test_expiry_denies_and_never_approves(setup):
    policy, audit = setup
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = make_tool(runtime, ran, capability="payments.quick", approval_wait=3)
        start = time.monotonic()
        with pytest.raises(ToolCallDenied) as info:
            tool(amount=5)
        assert "expired" in str(info.value) and time.monotonic() - start < 3
        (request,) = runtime.approvals.list("expired")
        with pytest.raises(ApprovalStateError, match="expired"):
            runtime.approvals.approve(request.id, by="late-larry")
        assert ran == []


def test_approval_survives_a_restart(setup):
    policy, audit = setup
    script = textwrap.dedent(f"""
        import sys
        from capfence import ActionRuntime, CapFenceTool, ApprovalRequired
        runtime = ActionRuntime.from_policy({str(policy)!r}, audit_log={str(audit)!r})
        def refund(amount: int, order: str = "o-1") -> str:
            open({str(audit.parent / "ran.txt")!r}, "a").write(str(amount) + "\\n")
            return "refunded"
        tool = CapFenceTool(tool=refund, agent_id="billing-agent", capability="payments.refund", gate=runtime)
        if sys.argv[1] == "approve":
            (req,) = runtime.approvals.list("pending")
            runtime.approvals.approve(req.id, by="ops")
            print("approved", req.id)
        else:
            try:
                print(tool(amount=7))
            except ApprovalRequired as held:
                print("held", held.request_id)
    """)
    run = lambda step: subprocess.run(  # noqa: E731
        [sys.executable, "-c", script, step], capture_output=True, text=True, check=True
    ).stdout.split()
    held = run("call")
    assert held[0] == "held"
    assert run("approve") == ["approved", held[1]]
    assert run("call") == ["refunded"]
    assert run("call")[0] == "held"
    assert (audit.parent / "ran.txt").read_text().split() == ["7"]


def test_concurrent_approvers_exactly_one_wins(setup):
    policy, audit = setup
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        request_id = held_id(make_tool(runtime, []), amount=1)
    script = textwrap.dedent(f"""
        import sys
        from capfence import ActionRuntime
        from capfence.approvals.requests import ApprovalStateError
        runtime = ActionRuntime.from_policy({str(policy)!r}, audit_log={str(audit)!r})
        try:
            getattr(runtime.approvals, sys.argv[1])({request_id!r}, by=sys.argv[2])
            print("won")
        except ApprovalStateError:
            print("lost")
    """)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, "approve" if i % 2 else "deny", f"human{i}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    results = [p.communicate()[0].strip() for p in procs]
    assert sorted(results) == ["lost"] * 5 + ["won"]
    conn = sqlite3.connect(audit)
    transitions = conn.execute(
        "SELECT count(*) FROM records WHERE kind = 'approval' AND (reason LIKE '%approved' OR reason LIKE '%denied')"
    ).fetchone()[0]
    assert transitions == 1


def test_wait_mode_runs_after_a_human_approves_from_another_process(setup):
    policy, audit = setup
    ran: list[int] = []

    def approve_once_filed() -> None:
        with ActionRuntime.from_policy(policy, audit_log=audit) as other:
            deadline = time.monotonic() + 60  # only a stuck run waits this long
            while not (pending := other.approvals.list("pending")) and time.monotonic() < deadline:
                time.sleep(0.02)
            other.approvals.approve(pending[0].id, by="carol")

    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = make_tool(runtime, ran, approval_wait=60)
        approver = threading.Thread(target=approve_once_filed)
        approver.start()
        assert tool(amount=4) == "refunded 4"
        approver.join()
    assert ran == [4]


def test_callback_approver_records_its_identity(setup):
    policy, audit = setup
    ran: list[int] = []
    approver = CallbackApprover(
        lambda req: (json.loads(req.payload)["amount"] < 50, "under limit"), identity="refund-bot"
    )
    with ActionRuntime.from_policy(policy, audit_log=audit, approver=approver) as runtime:
        tool = make_tool(runtime, ran)
        assert tool(amount=20) == "refunded 20"
        with pytest.raises(ToolCallDenied):
            tool(amount=500)
        decided = {r.status: r for r in runtime.approvals.list()}
        assert decided["consumed"].decided_by == "refund-bot" and decided["denied"].decided_by == "refund-bot"
    assert ran == [20]


def test_console_approver_without_a_tty_fails_fast_and_keeps_the_request(setup):
    policy, audit = setup
    script = textwrap.dedent(f"""
        from capfence import ActionRuntime, CapFenceTool, ApprovalRequired
        from capfence.approvals.approvers import ConsoleApprover
        runtime = ActionRuntime.from_policy({str(policy)!r}, audit_log={str(audit)!r}, approver=ConsoleApprover())
        tool = CapFenceTool(tool=lambda amount: "ran", agent_id="a", capability="payments.refund", gate=runtime)
        try:
            tool(amount=1)
        except ApprovalRequired as held:
            print(held)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "needs an interactive terminal" in out.stdout and "capfence approvals approve apr_" in out.stdout
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        assert len(runtime.approvals.list("pending")) == 1


def test_console_approver_reads_the_answer(setup, tmp_path):
    policy, audit = setup

    class FakeTTY:
        def __init__(self, answer: str) -> None:
            self.answer = answer

        def isatty(self) -> bool:
            return True

        def readline(self) -> str:
            return self.answer

    import io

    out = io.StringIO()
    with ActionRuntime.from_policy(
        policy, audit_log=audit, approver=ConsoleApprover("dana", stdin=FakeTTY("y\n"), stdout=out)
    ) as runtime:  # type: ignore[arg-type]
        assert make_tool(runtime, [])(amount=3) == "refunded 3"
    assert "Approve this call?" in out.getvalue() and "payments.refund" in out.getvalue()


def test_every_transition_is_in_the_hash_chain(setup):
    policy, audit = setup
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        tool = make_tool(runtime, [])
        request_id = held_id(tool, amount=1)
        runtime.approvals.approve(request_id, by="erin")
        tool(amount=1)
    conn = sqlite3.connect(audit)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM records ORDER BY seq")]
    reasons = [r["reason"] for r in rows if r["kind"] == "approval"]
    assert [x.rsplit(" ", 1)[1] for x in reasons] == ["created", "approved", "consumed"]
    prev = GENESIS
    for row in rows:
        assert row["prev_hash"] == prev and row["hash"] == record_hash(
            prev, {c: row[c] for c in COLUMNS}, None
        )
        prev = row["hash"]


def test_observing_and_simulating_never_create_an_executable_approval(tmp_path):
    """Observe mode (warn) runs calls without requests; replaying under an enforcing policy files none."""
    observe = tmp_path / "observe.yaml"
    observe.write_text("warn:\n  - capability: payments.refund\n")
    enforce = tmp_path / "enforce.yaml"
    enforce.write_text("require_approval:\n  - capability: payments.refund\n")
    audit = tmp_path / "audit.db"
    ran: list[int] = []
    with ActionRuntime.from_policy(observe, audit_log=audit) as runtime:
        make_tool(runtime, ran)(amount=70)
        assert runtime.approvals.list() == []
    from capfence.offline.replay_source import replay_file

    result = replay_file(audit, load_policy_for_test(enforce))
    assert ran == [70] and result.transitions().get(("warn", "require_approval")) == 1
    with ActionRuntime.from_policy(enforce, audit_log=audit) as runtime:
        assert runtime.approvals.list() == []  # the simulation filed nothing a human could approve


def load_policy_for_test(path: Path):
    from tests.support.loading import load_policy

    return load_policy(path)
