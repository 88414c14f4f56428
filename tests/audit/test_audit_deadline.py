"""One deadline per call for its audit write, whatever the number of threads; outcomes never double it; ts never goes back.

The audit file is locked by another real process (a Python interpreter that
holds ``BEGIN EXCLUSIVE`` on it) while real threads call a real gated tool
through the runtime. Times are upper bounds with generous margins (the
machine may be busy); nothing waits on a fixed window.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from capfence import ActionRuntime, CapFenceTool, ToolCallDenied
from capfence.audit.sqlite import SQLiteStore
from tests.support.audit import audit_rows, verify_chain
from tests.support.audit_workers import run_workers
from tests.support.deadlines import DEADLINE, MARGIN, call_together
from tests.support.policies import ALLOW_ALL, HOLD_REFUNDS
from tests.support.waiting import PATIENCE, wait_for

AUDIT_TIMEOUT_ENV = "CAPFENCE_AUDIT_TIMEOUT"

LOCKER = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    print("locked", flush=True)
    sys.stdin.readline()
    conn.execute("ROLLBACK")
    conn.close()
""")


@contextmanager
def locked_by_another_process(db: Path) -> Iterator[None]:
    """Another process holds the audit file's write lock (``BEGIN EXCLUSIVE``) until the block ends."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        yield
    finally:
        assert locker.stdin is not None
        locker.stdin.write("release\n")
        locker.stdin.flush()
        locker.wait(timeout=PATIENCE)


@pytest.fixture
def deadline_env(monkeypatch: pytest.MonkeyPatch) -> float:
    """The runtime's deadline, set the way an operator would (``$CAPFENCE_AUDIT_TIMEOUT``)."""
    monkeypatch.setenv(AUDIT_TIMEOUT_ENV, str(DEADLINE))
    return DEADLINE


# --- the decision: one deadline per call, however many threads ----------------------------------


@pytest.mark.parametrize("threads", [1, 8, 16])
def test_calls_on_a_locked_log_are_denied_within_the_deadline(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, deadline_env: float, threads: int
) -> None:
    rt = runtime(ALLOW_ALL)
    ran: list[str] = []

    def write_file(content: str) -> str:
        """Write content."""
        ran.append(content)
        return "written"

    safe = CapFenceTool(tool=write_file, agent_id="a", capability="fs.write", gate=rt)
    assert safe(content="before") == "written"

    with locked_by_another_process(tmp_path / "audit.db"):
        results, wall = call_together(threads, lambda: safe(content="while locked"))

    assert len(results) == threads
    for seconds, error in results:
        assert isinstance(error, ToolCallDenied), error
        reason = error.decision.reason
        assert reason.startswith(
            "internal_error: audit log busy: could not write the decision within 1.0 s"
        ), reason
        assert seconds < deadline_env + MARGIN, f"a call took {seconds:.2f}s (deadline {deadline_env}s)"
    assert wall < deadline_env + MARGIN, f"{threads} calls took {wall:.2f}s in all: their waits added up"
    assert ran == ["before"], "no tool body runs without its decision recorded"

    assert safe(content="after") == "written"  # released: calls are allowed again
    assert ran == ["before", "after"]
    db = tmp_path / "audit.db"
    wait_for(
        lambda: sum(r["outcome"] == "blocked" for r in audit_rows(db, "outcome")) == threads,
        "every blocked outcome is written",
    )
    rows = audit_rows(db)
    verify_chain(rows)
    assert [r["decision"] for r in rows if r["kind"] == "decision"] == ["allow", "allow"]


def test_the_deadline_holds_on_the_approval_path(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, deadline_env: float
) -> None:
    rt = runtime(HOLD_REFUNDS)
    assert rt.evaluate("payments.refund", {"amount": 1}, agent_id="a").action == "require_approval"
    decisions = []
    with locked_by_another_process(tmp_path / "audit.db"):
        results, wall = call_together(
            8, lambda: decisions.append(rt.evaluate("payments.refund", {"amount": 5}, agent_id="a"))
        )
    assert all(error is None and s < deadline_env + MARGIN for s, error in results), results
    assert wall < deadline_env + MARGIN, f"8 calls took {wall:.2f}s in all: their waits added up"
    for held in decisions:
        assert (
            held.action == "deny"
            and "audit log busy: could not write the decision within 1.0 s" in held.reason
        ), held.reason
    assert rt.evaluate("payments.refund", {"amount": 5}, agent_id="a").action == "require_approval"
    assert [r.status for r in rt.approvals.list()] == ["pending", "pending"]


def test_an_approval_decided_from_the_runtime_is_bounded_too(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """``Approvals`` on the store honours a deadline set around it (the runtime sets one around every decision)."""
    from capfence.audit.deadline import AuditBusy, within

    rt = runtime(HOLD_REFUNDS)
    held = rt.evaluate("payments.refund", {"amount": 1}, agent_id="a")
    with locked_by_another_process(tmp_path / "audit.db"):
        started = time.monotonic()
        with within(0.5), pytest.raises(AuditBusy, match=r"could not write within 0\.5 s"):
            rt.approvals.approve(str(held.approval_id), by="alice")
        assert time.monotonic() - started < 0.5 + MARGIN
    assert rt.approvals.approve(str(held.approval_id), by="alice").status == "approved"


# --- outcomes: never a second full wait, never lost, in order -----------------------------------


def test_an_outcome_on_a_locked_log_does_not_make_the_caller_wait_a_second_timeout(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUDIT_TIMEOUT_ENV, "3")
    rt = runtime(ALLOW_ALL)
    db = tmp_path / "audit.db"
    locker: list[AbstractContextManager[None]] = []
    body_done: list[float] = []

    def deploy(target: str) -> str:
        """The file is locked while the tool runs: the decision is in, the outcome must wait."""
        hold = locked_by_another_process(db)
        hold.__enter__()
        locker.append(hold)
        body_done.append(time.monotonic())
        return f"deployed {target}"

    safe = CapFenceTool(tool=deploy, agent_id="a", capability="deploy.run", gate=rt)
    try:
        assert safe(target="prod") == "deployed prod"
        after_body = time.monotonic() - body_done[0]
        assert after_body < 3.0, f"the outcome write held the caller {after_body:.2f}s: a full timeout"
        assert audit_rows(db, "outcome") == []  # not written yet: the file is still locked
    finally:
        for hold in locker:
            hold.__exit__(None, None, None)

    wait_for(
        lambda: len(audit_rows(db, "outcome")) == 1, "the queued outcome is written once the file is free"
    )
    (decision,) = audit_rows(db, "decision")
    (outcome,) = audit_rows(db, "outcome")
    assert (outcome["outcome"], outcome["ref"]) == ("ran", decision["seq"])
    occurred = json.loads(outcome["detail"])["occurred_at"]
    assert decision["ts"] <= occurred <= outcome["ts"]
    verify_chain(audit_rows(db))


def test_queued_outcomes_are_written_in_order(
    runtime: Callable[..., ActionRuntime], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(AUDIT_TIMEOUT_ENV, "0.3")
    rt = runtime(ALLOW_ALL)
    db = tmp_path / "audit.db"
    safe = CapFenceTool(tool=lambda n: n, agent_id="a", capability="x.y", gate=rt)
    assert safe(n=0) == 0
    with locked_by_another_process(db):
        for n in range(1, 6):
            with pytest.raises(ToolCallDenied):
                safe(n=n)
        assert rt._backlog.pending == 5
    wait_for(
        lambda: len(audit_rows(db, "outcome")) == 6, "the queued outcomes are written once the file is free"
    )
    outcomes = audit_rows(db, "outcome")
    assert [r["outcome"] for r in outcomes] == ["ran"] + ["blocked"] * 5
    occurred = [json.loads(r["detail"])["occurred_at"] for r in outcomes[1:]]
    assert occurred == sorted(occurred), "queued outcomes keep the order they happened in"
    verify_chain(audit_rows(db))


def test_an_outcome_that_can_never_be_written_is_logged_in_full(
    runtime: Callable[..., ActionRuntime],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(AUDIT_TIMEOUT_ENV, "0.3")
    rt = runtime(ALLOW_ALL)
    decision = rt.evaluate("x.y", {}, agent_id="a")
    with locked_by_another_process(tmp_path / "audit.db"):
        rt.record_outcome(decision, "ran")
        rt.close()  # the file stays locked past close's wait: the record is given up on, loudly
    lost = [r for r in caplog.records if r.levelname == "ERROR" and "record not written" in r.getMessage()]
    assert len(lost) == 1 and f'"ref": {decision.record_id}' in lost[0].getMessage()
    assert audit_rows(tmp_path / "audit.db", "outcome") == []


# --- configuration -----------------------------------------------------------------------------


def test_the_deadline_is_configurable(
    write_policy: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = write_policy(ALLOW_ALL)
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as rt:
        assert rt.audit_timeout == 3.0
    monkeypatch.setenv(AUDIT_TIMEOUT_ENV, "7.5")
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db") as rt:
        assert rt.audit_timeout == 7.5
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db", audit_timeout=0.25) as rt:
        assert rt.audit_timeout == 0.25
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv(AUDIT_TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match=AUDIT_TIMEOUT_ENV):
            ActionRuntime.from_policy(policy, audit_log=tmp_path / "a.db")


def test_the_store_alone_keeps_its_own_bound(tmp_path: Path) -> None:
    """Outside any deadline (the CLI), one store operation still waits at most the store's timeout, queue included."""
    from capfence.audit.deadline import AuditBusy

    store = SQLiteStore(tmp_path / "audit.db", timeout=0.5)
    store.append({"ts": "", "kind": "event"})
    with locked_by_another_process(tmp_path / "audit.db"):
        results, wall = call_together(8, lambda: store.append({"ts": "", "kind": "event"}))
    assert all(isinstance(error, AuditBusy) for _, error in results), results
    assert wall < 0.5 + MARGIN
    assert store.append({"ts": "", "kind": "event"}) == 2
    store.close()


# --- timestamps ---------------------------------------------------------------------------------


def test_timestamps_never_go_backwards_along_the_chain(
    write_policy: Callable[..., Path], tmp_path: Path
) -> None:
    processes, threads, calls = 3, 6, 40
    db = tmp_path / "shared.db"
    run_workers(write_policy(ALLOW_ALL), str(db), processes, threads, calls)
    rows = audit_rows(db)
    assert len(rows) == processes * threads * calls * 2
    verify_chain(rows)
    backwards = [(a["seq"], a["ts"], b["ts"]) for a, b in itertools.pairwise(rows) if b["ts"] < a["ts"]]
    assert not backwards, f"{len(backwards)} records stamped before the one they follow, e.g. {backwards[:3]}"


def test_a_record_is_never_stamped_before_the_head(tmp_path: Path) -> None:
    """Even if the clock reads earlier than the last record (a clock stepped back, or a faster clock elsewhere)."""
    db = tmp_path / "audit.db"
    store = SQLiteStore(db)
    store.append({"ts": "", "kind": "event"})
    conn = sqlite3.connect(db)
    # the head, as a clock far ahead wrote it
    conn.execute("UPDATE records SET ts = '2999-01-01T00:00:00.000000+00:00'")
    conn.commit()
    conn.close()
    store.close()  # forget the cached head: the next append reads it from the file
    store.append({"ts": "", "kind": "event"})
    with store.transaction() as tx:
        tx.append({"ts": "", "kind": "event"})
    store.close()
    assert [r["ts"] for r in audit_rows(db)] == ["2999-01-01T00:00:00.000000+00:00"] * 3
