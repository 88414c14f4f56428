"""Many writers and many approvers on one PostgreSQL audit log: 8 processes x 4 threads, races for one approval."""

from __future__ import annotations

import contextlib
import itertools
import json
import multiprocessing
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from capfence.approvals.requests import ApprovalStateError
from capfence.audit.partitions import KIND as CROSSLINK
from capfence.audit.partitions import first_seq, partition_of
from capfence.audit.reader import open_reader
from capfence.audit.verify import verify
from capfence.plugins import build_registry

POLICY = """
require_approval:
  - id: refunds
    capability: payments.refund
warn:
  - id: observe-shell
    capability: shell.*
allow:
  - capability: "*"
"""
PROCESSES, THREADS, CALLS = 8, 4, 40
SPAWN = multiprocessing.get_context("spawn")


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(POLICY))
    return path


def _writer(url: str, policy: str, proc: int, barrier: Any, results: Any) -> None:
    """One agent process: THREADS threads, each deciding CALLS calls and recording their outcomes."""
    acked: list[tuple[int, str]] = []
    failures: list[str] = []
    with ActionRuntime.from_policy(policy, audit_log=url) as runtime:

        def work(thread: int) -> None:
            for i in range(CALLS):
                command = f"echo {proc}-{thread}-{i}"
                decision = runtime.evaluate(
                    "shell.execute", {"command": command}, agent_id=f"agent-{proc}", tool="run_shell"
                )
                if decision.action != "warn" or decision.record_id is None:
                    failures.append(f"{command}: {decision.action} {decision.reason}")
                    continue
                acked.append((decision.record_id, command))
                runtime.record_outcome(decision, "ran")

        barrier.wait(timeout=60)
        threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    results.put((proc, acked, failures))


@pytest.mark.slow
def test_eight_processes_of_four_threads_make_one_unbroken_chain(pg_url: str, policy: Path) -> None:
    barrier, results = SPAWN.Barrier(PROCESSES), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_writer, args=(pg_url, str(policy), p, barrier, results))
        for p in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    collected = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    failures = [f for _, _, fs in collected for f in fs]
    assert not failures, failures[:5]
    acked = {seq: command for _, items, _ in collected for seq, command in items}
    total = PROCESSES * THREADS * CALLS
    assert len(acked) == total  # every acknowledged decision got its own sequence number

    with open_reader(pg_url, build_registry().stores) as reader:
        report = verify(reader, None)
        records = list(reader.records())
    assert report.ok, report.problem
    chained = [r for r in records if r["kind"] != CROSSLINK]
    assert len(chained) == 2 * total  # no lost rows
    for part, group in itertools.groupby(records, key=lambda r: partition_of(int(r["seq"]))):
        seqs = [int(r["seq"]) for r in group]
        assert seqs == list(
            range(first_seq(part), first_seq(part) + len(seqs))
        )  # each chain: no gap, no fork
    decisions = {
        r["seq"]: json.loads(str(r["payload"]))["command"] for r in records if r["kind"] == "decision"
    }
    assert decisions == acked  # nothing acknowledged is missing, nothing unacknowledged was written
    outcomes = [r["ref"] for r in records if r["kind"] == "outcome"]
    assert sorted(outcomes) == sorted(acked)


def _approver(url: str, request_id: str, who: str, verb: str, barrier: Any, results: Any) -> None:
    from capfence.approvals.requests import Approvals
    from capfence.audit.store import open_store
    from capfence.plugins import build_registry

    store = open_store(url, build_registry().stores)
    queue = Approvals(store)  # type: ignore[arg-type]
    outcome: list[str] = []

    def decide(n: int) -> None:
        barrier.wait(timeout=60)
        try:
            getattr(queue, verb)(request_id, by=f"{who}-{n}")
            outcome.append(f"{verb}:{who}-{n}")
        except ApprovalStateError:
            outcome.append("lost")

    threads = [threading.Thread(target=decide, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    results.put(outcome)


def _hold(policy: Path, url: str) -> str:
    with ActionRuntime.from_policy(policy, audit_log=url) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: None, agent_id="billing", capability="payments.refund", gate=runtime
        )
        with pytest.raises(ApprovalRequired) as held:
            refund(amount=7)
        return str(held.value.request_id)


@pytest.mark.slow
def test_concurrent_approvers_exactly_one_wins(pg_url: str, policy: Path) -> None:
    request_id = _hold(policy, pg_url)
    voters = [
        ("alice", "approve"),
        ("bob", "deny"),
        ("carol", "approve"),
        ("dave", "deny"),
        ("erin", "approve"),
        ("frank", "approve"),
    ]
    barrier, results = SPAWN.Barrier(2 * len(voters)), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_approver, args=(pg_url, request_id, who, verb, barrier, results))
        for who, verb in voters
    ]
    for p in procs:
        p.start()
    outcomes = [o for _ in procs for o in results.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
    winners = [o for o in outcomes if o != "lost"]
    assert len(winners) == 1 and outcomes.count("lost") == 2 * len(voters) - 1

    with open_reader(pg_url, build_registry().stores) as reader:
        assert verify(reader, None).ok
        events = [json.loads(str(r["detail"])) for r in reader.records() if r["kind"] == "approval"]
    decided = [e for e in events if e.get("status") in ("approved", "denied")]
    assert len(decided) == 1 and winners[0].split(":")[1] == decided[0]["decided_by"]


def _consumer(policy: str, url: str, barrier: Any, results: Any) -> None:
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=url) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: ran.append(amount),  # noqa: PLW0108
            agent_id="billing",
            capability="payments.refund",
            gate=runtime,
        )
        barrier.wait(timeout=60)
        with contextlib.suppress(ApprovalRequired):
            refund(amount=7)
    results.put(len(ran))


@pytest.mark.slow
def test_an_approval_is_consumed_by_exactly_one_of_many_racing_calls(pg_url: str, policy: Path) -> None:
    request_id = _hold(policy, pg_url)
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        runtime.approvals.approve(request_id, by="alice")
    barrier, results = SPAWN.Barrier(6), SPAWN.Queue()
    procs = [SPAWN.Process(target=_consumer, args=(str(policy), pg_url, barrier, results)) for _ in range(6)]
    for p in procs:
        p.start()
    assert sum(results.get(timeout=120) for _ in procs) == 1
    for p in procs:
        p.join(timeout=60)
    with open_reader(pg_url, build_registry().stores) as reader:
        assert verify(reader, None).ok
