"""Partitioned chains on a real PostgreSQL server: writer processes, what ``verify`` detects, migration of a schema-4 log.

Writers are real processes (``spawn``). Where a test needs to know which
partition each writer uses, the writer process pins its lane to one
(``Lanes._free_partition`` replaced in that process only); everything else
(the statements, locks, cross-links) is the store's own. Tampering is done
the way an attacker with write access to the database would: SQL on the
tables.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from capfence.audit import checkpoint
from capfence.audit.chain import GENESIS, record_hash
from capfence.audit.partitions import KIND as CROSSLINK
from capfence.audit.partitions import STRIDE, claimed_heads, first_seq, partition_of
from capfence.audit.postgres import PostgresStore
from capfence.audit.postgres_schema import SCHEMA_VERSION
from capfence.audit.query import Filters
from capfence.audit.reader import open_reader
from capfence.audit.verify import Report, verify
from capfence.plugins import build_registry
from tests.support.cli import run
from tests.support.paths import DATA
from tests.support.postgres_server import PostgresServer

SPAWN = multiprocessing.get_context("spawn")
A, B, C = 5, 6, 7
"""The partitions the three pinned writers of :func:`base_log` use, in the order they write."""
PER_WRITER = 10


def decision(tag: str, i: int) -> dict[str, object]:
    return {
        "kind": "decision",
        "agent_id": f"agent-{tag}",
        "tool": "run_shell",
        "capability": "shell.execute",
        "payload": json.dumps({"command": f"echo {tag}-{i}"}),
        "decision": "allow",
        "reason": "ok",
    }


def _pinned_writer(url: str, tag: str, part: int | None, calls: int, results: Any) -> None:
    """A writer process appending ``calls`` decisions (to partition ``part`` if given), then closing the store.

    It cross-links only when it closes (``crosslink=3600``), however slow the machine: its records are consecutive.
    """
    if part is not None:
        from capfence.audit.postgres_lanes import Lanes

        Lanes._free_partition = lambda self, index: part  # type: ignore[method-assign]
    store = PostgresStore(f"{url}?crosslink=3600")
    seqs = [store.append(decision(tag, i)) for i in range(calls)]
    store.close()  # cross-links the other partitions' heads
    results.put(seqs)


def write_in_process(url: str, tag: str, part: int | None = None, calls: int = PER_WRITER) -> list[int]:
    results = SPAWN.Queue()
    proc = SPAWN.Process(target=_pinned_writer, args=(url, tag, part, calls, results))
    proc.start()
    seqs: list[int] = results.get(timeout=120)
    proc.join(timeout=60)
    assert proc.exitcode == 0
    return seqs


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(statement, params).rowcount


def records(url: str) -> list[dict[str, Any]]:
    with open_reader(url, build_registry().stores) as reader:
        return list(reader.records())


def verified(url: str, key: bytes | None = None, points: list[Any] | None = None) -> Report:
    with open_reader(url, build_registry().stores) as reader:
        return verify(reader, key, points or [])


def partition_range(part: int) -> tuple[int, int]:
    return part * STRIDE, (part + 1) * STRIDE


# --- a log with three partitions, written once, cloned for each test --------------------------------


@pytest.fixture(scope="module")
def base_log(pg_server: PostgresServer) -> str:
    """Writer A (partition 5), then B (6), then C (7), ten decisions each; B's cross-link pins A, C's pins A and B."""
    url = pg_server.create_database()
    for tag, part in (("a", A), ("b", B), ("c", C)):
        seqs = write_in_process(url, tag, part)
        assert seqs == list(range(first_seq(part), first_seq(part) + PER_WRITER))
    return url


@pytest.fixture
def log(pg_server: PostgresServer, base_log: str) -> Iterator[str]:
    """A copy of :func:`base_log` for one test to tamper with."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    template = base_log.rsplit("/", 1)[1]
    with psycopg.connect(pg_server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield base_log.rsplit("/", 1)[0] + "/" + name


def test_the_base_log_verifies_partition_by_partition(log: str) -> None:
    rows = records(log)
    links = {int(r["seq"]): claimed_heads(r) for r in rows if r["kind"] == CROSSLINK}
    # A closed first: nothing to pin; B pinned A's last record; C pinned A's and B's (B's cross-link)
    last_a, last_b = first_seq(A) + PER_WRITER - 1, first_seq(B) + PER_WRITER
    assert sorted(links.values()) == sorted(
        [
            [(A, last_a, next(r["hash"] for r in rows if r["seq"] == last_a))],
            [
                (A, last_a, next(r["hash"] for r in rows if r["seq"] == last_a)),
                (B, last_b, next(r["hash"] for r in rows if r["seq"] == last_b)),
            ],
        ]
    )
    for part in (A, B, C):
        chain = [r for r in rows if partition_of(int(r["seq"])) == part]
        assert chain[0]["seq"] == first_seq(part) and chain[0]["prev_hash"] == GENESIS
        for before, row in itertools.pairwise(chain):
            assert row["seq"] == before["seq"] + 1 and row["prev_hash"] == before["hash"]
            assert record_hash(str(row["prev_hash"]), row, None) == row["hash"]
    report = verified(log)
    assert report.ok, report.problem
    assert report.partitions == {A: last_a, B: last_b, C: first_seq(C) + PER_WRITER}


def test_a_record_deleted_inside_a_partition_is_detected(log: str) -> None:
    assert sql(log, "DELETE FROM records WHERE seq = %s", (first_seq(B) + 4,)) == 1
    report = verified(log)
    assert report.problem is not None and report.problem.kind == "deleted", report.problem
    assert f"record {first_seq(B) + 4} missing" in report.problem.message


def test_a_dropped_partition_is_detected(log: str) -> None:
    assert sql(log, "DELETE FROM records WHERE seq > %s AND seq < %s", partition_range(A)) == PER_WRITER
    report = verified(log)
    assert report.problem is not None and report.problem.kind == "truncated", report.problem
    assert f"partition {A} is missing" in report.problem.message


def test_a_truncated_partition_tail_is_detected(log: str) -> None:
    cut = first_seq(A) + 7
    assert sql(log, "DELETE FROM records WHERE seq >= %s AND seq < %s", (cut, partition_range(A)[1])) == 3
    report = verified(log)
    assert report.problem is not None and report.problem.kind == "truncated", report.problem
    assert f"partition {A} ends at record {cut - 1}" in report.problem.message


def test_a_partition_recomputed_after_an_edit_is_detected(log: str) -> None:
    """Without a key anyone can recompute a chain; the cross-links in the other partitions still hold the old hashes."""
    with psycopg.connect(log, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT * FROM records WHERE seq > %s AND seq < %s ORDER BY seq", partition_range(A)
        ).fetchall()
        names = [d.name for d in conn.execute("SELECT * FROM records LIMIT 0").description or ()]
        prev = GENESIS
        for values in rows:
            row = dict(zip(names, values, strict=True))
            if row["seq"] == first_seq(A) + 2:
                row["payload"] = json.dumps({"command": "echo harmless"})
            row["prev_hash"], row["hash"] = prev, record_hash(prev, row, None)
            conn.execute(
                "UPDATE records SET payload = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                (row["payload"], row["prev_hash"], row["hash"], row["seq"]),
            )
            prev = str(row["hash"])
    report = verified(log)
    assert report.problem is not None and report.problem.kind == "rewritten", report.problem
    assert (
        f"record {first_seq(A) + PER_WRITER - 1} differs from what cross-link record"
        in report.problem.message
    )


def test_the_newest_partition_is_pinned_only_by_a_checkpoint(log: str, tmp_path: Path) -> None:
    """What verify cannot prove alone: records after the last cross-link that saw them (here all of C's)."""
    with open_reader(log, build_registry().stores) as reader:
        point = checkpoint.take(reader, None)
    assert (
        partition_of(point.seq) == C
    )  # the newest cross-link pins every partition, C's own records included
    assert sql(log, "DELETE FROM records WHERE seq > %s AND seq < %s", partition_range(C)) == PER_WRITER + 1
    assert verified(log).ok  # the detection window: no cross-link saw C
    report = verified(log, None, [("ckpt:1", point)])
    assert report.problem is not None and report.problem.kind == "truncated", report.problem
    path = tmp_path / "audit.ckpt"
    checkpoint.append(path, point)
    done = run("verify", "--audit-log", log, "--checkpoint", str(path), check=None)
    assert done.returncode == 1 and "TAMPERED" in done.stdout and "(truncated)" in done.stdout, done.stdout


def test_verify_on_the_command_line_names_the_dropped_partition(log: str) -> None:
    sql(log, "DELETE FROM records WHERE seq > %s AND seq < %s", partition_range(B))
    done = run("verify", "--audit-log", log, check=None)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"partition {B} is missing" in done.stdout and "Traceback" not in done.stderr


# --- writers sharing partitions -----------------------------------------------------------------


def test_two_writers_on_one_partition_never_fork_it(pg_url: str) -> None:
    """Two stores in one process start on the same partition: each append still lands after the other's."""
    first, second = PostgresStore(pg_url), PostgresStore(pg_url)
    try:
        seqs = [
            store.append(decision(tag, i)) for i in range(20) for tag, store in (("x", first), ("y", second))
        ]
    finally:
        first.close()
        second.close()
    assert len(set(seqs)) == 40
    assert partition_of(seqs[0]) == partition_of(seqs[1])  # they collided, then one moved
    assert len({partition_of(s) for s in seqs[-4:]}) == 2
    report = verified(pg_url)
    assert report.ok, report.problem


def test_a_lost_head_is_read_again_not_chained_to(pg_url: str) -> None:
    """The head a writer remembers is gone (a crash of a server that commits asynchronously): no gap, no fork."""
    store = PostgresStore(pg_url)
    try:
        seqs = [store.append(decision("z", i)) for i in range(5)]
        assert sql(pg_url, "DELETE FROM records WHERE seq = %s", (seqs[-1],)) == 1
        again = store.append(decision("z", 5))
    finally:
        store.close()
    assert again == seqs[-1]  # the next record took the lost one's place in the chain
    report = verified(pg_url)
    assert report.ok, report.problem


# --- many writer processes -------------------------------------------------------------------------


def _threads_writer(url: str, proc: int, threads: int, calls: int, barrier: Any, results: Any) -> None:
    store = PostgresStore(url)
    acked: list[tuple[int, str]] = []
    lock = threading.Lock()

    def work(thread: int) -> None:
        for i in range(calls):
            tag = f"{proc}.{thread}"
            seq = store.append(decision(tag, i))
            with lock:
                acked.append((seq, f"echo {tag}-{i}"))

    barrier.wait(timeout=120)
    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    store.close()
    results.put(acked)


@pytest.mark.slow
def test_writer_processes_each_keep_unbroken_chains(pg_url: str) -> None:
    processes, threads, calls = 6, 3, 40
    barrier, results = SPAWN.Barrier(processes), SPAWN.Queue()
    procs = [
        SPAWN.Process(target=_threads_writer, args=(pg_url, p, threads, calls, barrier, results))
        for p in range(processes)
    ]
    for p in procs:
        p.start()
    acked = dict(item for _ in procs for item in results.get(timeout=300))
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert len(acked) == processes * threads * calls  # every append got its own sequence number
    rows = records(pg_url)
    decisions = {
        int(r["seq"]): json.loads(str(r["payload"]))["command"] for r in rows if r["kind"] == "decision"
    }
    assert decisions == acked  # nothing acknowledged is missing, nothing else was written
    by_partition = {
        part: [int(r["seq"]) for r in group]
        for part, group in itertools.groupby(rows, key=lambda r: partition_of(int(r["seq"])))
    }
    assert len(by_partition) > 1
    for part, seqs in by_partition.items():
        assert seqs == list(range(first_seq(part), first_seq(part) + len(seqs)))  # dense: no fork, no gap
    assert any(r["kind"] == CROSSLINK for r in rows)
    report = verified(pg_url)
    assert report.ok, report.problem
    assert set(report.partitions) == set(by_partition)


# --- a log written before partitions ---------------------------------------------------------------

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


OLD_REQUEST = "apr_2543af32a44127ca"
"""The request the schema-4 log holds as pending (for ``refund(amount=4)``; it expired an hour after it was filed)."""


def restore_schema4(url: str) -> None:
    """Load the schema-4 log of ``tests/data/postgres_schema4.sql`` (written by CapFence before partitions)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute((DATA / "postgres_schema4.sql").read_text())


def test_a_schema4_log_migrates_to_partition_0_and_still_verifies(pg_url: str, tmp_path: Path) -> None:
    restore_schema4(pg_url)
    old = records(pg_url)
    assert [r["seq"] for r in old] == list(range(1, len(old) + 1)) and len(old) == 50
    point = checkpoint.load(DATA / "postgres_schema4.ckpt")[0][1]
    assert verified(pg_url, None, [("v4", point)]).ok
    pending = sql(pg_url, "SELECT 1 FROM approvals WHERE status = 'pending'")
    assert pending == 1

    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        for i in range(5):
            runtime.record_outcome(
                runtime.evaluate("shell.execute", {"command": f"echo v5-{i}"}, agent_id="new"), "ran"
            )
        refund = CapFenceTool(
            tool=lambda amount: ran.append(amount),  # noqa: PLW0108
            agent_id="billing",
            capability="payments.refund",
            gate=runtime,
        )
        filed_before = runtime.approvals.get(OLD_REQUEST)  # filed by the old CapFence for this very call
        assert filed_before is not None and filed_before.payload == '{"amount":4}'
        with pytest.raises(ApprovalRequired) as held:
            refund(
                amount=4
            )  # the same request while it is pending; a new one once it has expired (after an hour)
        runtime.approvals.approve(held.value.request_id, by="bob")
        refund(amount=4)
        with pytest.raises(ApprovalRequired):
            refund(amount=4)  # consumed
    assert ran == [4]

    rows = records(pg_url)
    assert rows[: len(old)] == old  # the old chain is partition 0, untouched
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    new_parts = {partition_of(int(r["seq"])) for r in rows} - {0}
    assert len(new_parts) == 1  # one writer: one partition for its plain appends
    approvals = [r for r in rows if r["kind"] == "approval"]
    assert all(partition_of(int(r["seq"])) == 0 for r in approvals)  # serialized, in partition 0, as before
    links = [claimed_heads(r) for r in rows if r["kind"] == CROSSLINK]
    assert links and all(part == 0 for heads in links for part, _, _ in heads)  # the old chain is pinned
    report = verified(pg_url, None, [("v4", point)])
    assert report.ok, report.problem
    assert report.checked and not report.unbacked

    with open_reader(
        pg_url, build_registry().stores
    ) as reader:  # logs/export: one order, old decisions first
        commands = [json.loads(str(r["payload"])).get("command") for r in reader.decisions(Filters())]
    assert commands[:20] == [f"echo v4-{i}" for i in range(20)]
    assert [c for c in commands if c and c.startswith("echo v5")] == [f"echo v5-{i}" for i in range(5)]
    done = run("export", "--audit-log", pg_url, "-o", str(tmp_path / "out.jsonl"), check=None)
    assert done.returncode == 0, done.stderr
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [(e["ts"], e["seq"]) for e in exported] == sorted((e["ts"], e["seq"]) for e in exported)


def test_a_failing_partition_append_denies_the_call(pg_url: str, tmp_path: Path) -> None:
    """Fail closed: the first append to a new partition cannot register it, so the call is denied and says why."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        runtime.approvals.list()  # opens and migrates the log
        sql(pg_url, "DROP TABLE partitions")
        decision = runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert decision.action == "deny" and not decision.allowed
    assert "audit log not writable" in decision.reason and "partitions" in decision.reason, decision.reason
