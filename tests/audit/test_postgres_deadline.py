"""The PostgreSQL store honours the runtime's per-call deadline, and stamps ts at commit, against a real server."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from capfence import ActionRuntime, CapFenceTool, ToolCallDenied
from capfence.audit.partitions import KIND as CROSSLINK
from capfence.audit.partitions import partition_of
from capfence.audit.postgres_schema import CHAIN_LOCK
from capfence.audit.reader import open_reader
from capfence.audit.verify import verify
from capfence.plugins import build_registry
from tests.support.audit_workers import run_workers
from tests.support.deadlines import DEADLINE, MARGIN, call_together
from tests.support.policies import ALLOW_ALL, HOLD_REFUNDS
from tests.support.postgres_server import hold_every_chain_lock
from tests.support.waiting import wait_for


def records(url: str) -> list[dict[str, object]]:
    with open_reader(url, build_registry().stores) as reader:
        return list(reader.records())


@pytest.mark.parametrize("threads", [1, 8, 16])
def test_calls_behind_a_held_chain_lock_are_denied_within_the_deadline(
    pg_url: str, write_policy: Callable[..., Path], threads: int
) -> None:
    ran: list[int] = []
    with ActionRuntime.from_policy(write_policy(ALLOW_ALL), audit_log=pg_url, audit_timeout=DEADLINE) as rt:

        def record(n: int) -> None:
            """Note that the body ran."""
            ran.append(n)

        safe = CapFenceTool(tool=record, agent_id="a", capability="x.y", gate=rt)
        safe(n=0)
        blocker = psycopg.connect(pg_url)  # another writer, stuck inside its chain transactions
        try:
            hold_every_chain_lock(blocker)
            results, wall = call_together(threads, lambda: safe(n=1))
        finally:
            blocker.rollback()
            blocker.close()
        for seconds, error in results:
            assert isinstance(error, ToolCallDenied), error
            reason = error.decision.reason
            assert reason.startswith(
                "internal_error: audit log busy: could not write the decision within 1.0 s"
            ), reason
            assert seconds < DEADLINE + MARGIN, f"a call took {seconds:.2f}s (deadline {DEADLINE}s)"
        assert wall < DEADLINE + MARGIN, f"{threads} calls took {wall:.2f}s in all: their waits added up"
        assert ran == [0]
        safe(n=2)  # the lock is free again
        assert ran == [0, 2]
        wait_for(
            lambda: sum(r["outcome"] == "blocked" for r in records(pg_url)) == threads,
            "every blocked outcome is written",
        )
    with open_reader(pg_url, build_registry().stores) as reader:
        assert verify(reader, None).ok


def test_timestamps_never_go_backwards_along_the_chain(
    pg_url: str, write_policy: Callable[..., Path]
) -> None:
    processes, threads, calls = 3, 4, 25
    run_workers(write_policy(ALLOW_ALL), pg_url, processes, threads, calls)
    rows = records(pg_url)  # partition by partition, each in its chain's order
    assert sum(r["kind"] != CROSSLINK for r in rows) == processes * threads * calls * 2
    backwards = [
        (b["seq"], a["ts"], b["ts"])
        for a, b in itertools.pairwise(rows)
        if partition_of(int(a["seq"])) == partition_of(int(b["seq"])) and str(b["ts"]) < str(a["ts"])
    ]
    assert not backwards, f"{len(backwards)} records stamped before the one they follow, e.g. {backwards[:3]}"
    with open_reader(pg_url, build_registry().stores) as reader:
        assert verify(reader, None).ok


def test_a_transaction_honours_the_deadline_too(pg_url: str, write_policy: Callable[..., Path]) -> None:
    """The approval path (``store.transaction()``) is bounded by the same deadline."""
    with ActionRuntime.from_policy(
        write_policy(HOLD_REFUNDS), audit_log=pg_url, audit_timeout=DEADLINE
    ) as rt:
        assert rt.evaluate("payments.refund", {"amount": 1}, agent_id="a").action == "require_approval"
        blocker = psycopg.connect(pg_url)
        try:
            blocker.execute(CHAIN_LOCK)
            started = time.monotonic()
            held = rt.evaluate("payments.refund", {"amount": 2}, agent_id="a")
            seconds = time.monotonic() - started
        finally:
            blocker.rollback()
            blocker.close()
        assert (
            held.action == "deny"
            and "audit log busy: could not write the decision within 1.0 s" in held.reason
        ), held.reason
        assert seconds < DEADLINE + MARGIN
        assert rt.evaluate("payments.refund", {"amount": 2}, agent_id="a").action == "require_approval"
