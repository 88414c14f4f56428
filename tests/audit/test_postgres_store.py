"""The PostgreSQL audit store against a real server: chain, migrations, reader, approvals, runtime, fail-closed."""

from __future__ import annotations

import itertools
import json
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from capfence.approvals.requests import Approvals, ApprovalStateError
from capfence.audit.chain import GENESIS, record_hash
from capfence.audit.deadline import AuditBusy
from capfence.audit.partitions import first_seq, partition_of
from capfence.audit.postgres import PostgresStore, qmark_to_pyformat
from capfence.audit.postgres_reader import PostgresReader
from capfence.audit.postgres_schema import (
    CHAIN_LOCK,
    PARTITION_LOCK,
    SCHEMA_VERSION,
    glob_regex,
    parse_location,
)
from capfence.audit.query import Filters
from capfence.audit.reader import open_reader
from capfence.audit.store import open_store
from capfence.audit.verify import verify
from capfence.errors import AuditError
from capfence.plugins import build_registry
from tests.support.postgres_server import free_port

POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
require_approval:
  - id: refunds
    capability: payments.refund
warn:
  - id: observe-shell
    capability: shell.*
allow:
  - capability: "*"
"""


def decision(i: int, **fields: object) -> dict[str, object]:
    return {
        "ts": f"2025-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
        "kind": "decision",
        "agent_id": f"agent-{i % 3}",
        "tool": "run_shell",
        "capability": "shell.execute",
        "payload": json.dumps({"command": f"echo {i}"}),
        "decision": "allow",
        "reason": "ok",
        **fields,
    }


def chain_of(url: str) -> list[dict[str, object]]:
    with open_reader(url, build_registry().stores) as reader:
        return list(reader.records())


def assert_verifies(url: str, key: bytes | None = None) -> int:
    with open_reader(url, build_registry().stores) as reader:
        report = verify(reader, key)
    assert report.ok, report.problem
    return report.records


@pytest.fixture(params=["partitioned", "single"])
def mode(request: pytest.FixtureRequest, pg_url: str) -> str:
    """The log's URL: partitioned (the default) or one chain (``?partitions=0``, as before schema v5)."""
    return pg_url if request.param == "partitioned" else pg_url + "?partitions=0"


@pytest.fixture
def store(mode: str):
    s = PostgresStore(mode)
    yield s
    s.close()


def lock_of(url: str, seq: int) -> str:
    """The SQL that takes the chain lock a writer appending after record ``seq`` needs."""
    part = partition_of(seq)
    return CHAIN_LOCK if part == 0 else PARTITION_LOCK.format(part=part)


# --- locations ---------------------------------------------------------------------------------


def test_url_forms_are_parsed_and_the_password_never_shown() -> None:
    settings = parse_location(
        "postgresql://alice:s3cret@db.internal:5433/audit?sslmode=require&timeout=2.5&pool_max=8"
    )
    assert settings.display == "postgresql://alice:***@db.internal:5433/audit?sslmode=require"
    assert "s3cret" in settings.conninfo and "timeout" not in settings.conninfo
    assert (settings.timeout, settings.pool_min, settings.pool_max) == (2.5, 1, 8)
    with pytest.raises(AuditError, match="timeout"):
        parse_location("postgres://h/db?timeout=-1")
    assert (settings.partitions, settings.crosslink) == (64, 1.0)
    tuned = parse_location("postgresql://h/db?partitions=0&crosslink=0.5")
    assert (tuned.partitions, tuned.crosslink) == (0, 0.5) and "partitions" not in tuned.conninfo
    for bad in ("partitions=-1", "partitions=5000", "crosslink=0", "crosslink=nan", "partitions=x"):
        with pytest.raises(AuditError, match="invalid audit log URL"):
            parse_location(f"postgresql://h/db?{bad}")


def test_postgres_urls_select_the_postgres_store(pg_url: str) -> None:
    for url in (pg_url, pg_url.replace("postgresql://", "postgres://")):
        s = open_store(url, build_registry().stores)
        try:
            assert isinstance(s, PostgresStore)
            assert s.append(decision(1)) >= 1
        finally:
            s.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT * FROM approvals WHERE id = ? AND status IN (?, ?)",
            "SELECT * FROM approvals WHERE id = %s AND status IN (%s, %s)",
        ),
        ("UPDATE t SET a = 'why?' WHERE b = ?", "UPDATE t SET a = 'why?' WHERE b = %s"),
        ("SELECT 1 WHERE r LIKE 'x%' AND c = ?", "SELECT 1 WHERE r LIKE 'x%%' AND c = %s"),
    ],
)
def test_qmark_placeholders_become_psycopg_placeholders(sql: str, expected: str) -> None:
    assert qmark_to_pyformat(sql) == expected


@pytest.mark.parametrize(
    ("glob", "matches", "misses"),
    [
        ("shell.*", ["shell.execute", "shell."], ["shellXexecute", "net.shell.x"]),
        ("prod-?", ["prod-1"], ["prod-12", "prod-"]),
        ("agent-[!0]", ["agent-1"], ["agent-0"]),
        ("a+b(c)", ["a+b(c)"], ["aab(c)"]),
    ],
)
def test_globs_become_anchored_regexes(glob: str, matches: list[str], misses: list[str]) -> None:
    import re

    pattern = re.compile(glob_regex(glob))
    assert all(pattern.fullmatch(m) for m in matches) and not any(pattern.fullmatch(m) for m in misses)


# --- the chain ------------------------------------------------------------------------------------


def test_append_chains_commits_and_verifies(store: PostgresStore, pg_url: str) -> None:
    seqs = [store.append(decision(i)) for i in range(50)]
    part = partition_of(seqs[0])  # one writer: one partition (0 for a single chain), numbered from its start
    assert (part == 0) == (store.settings.partitions == 0)
    assert seqs == list(range(first_seq(part), first_seq(part) + 50))
    rows = chain_of(pg_url)
    assert rows[0]["prev_hash"] == GENESIS
    for before, row in itertools.pairwise(rows):
        assert row["prev_hash"] == before["hash"]
        assert record_hash(str(row["prev_hash"]), row, None) == row["hash"]
    assert assert_verifies(pg_url) == 50


def test_keyed_chain_and_mode_mismatch(pg_url: str) -> None:
    keyed = PostgresStore(pg_url, key=b"k" * 32)
    keyed.append(decision(1))
    keyed.close()
    assert assert_verifies(pg_url, b"k" * 32) == 1
    unkeyed = PostgresStore(pg_url, key=None)
    with pytest.raises(AuditError, match="hmac-sha256"):
        unkeyed.append(decision(2))
    unkeyed.close()


def test_migrations_are_versioned_and_a_newer_schema_is_refused(store: PostgresStore, pg_url: str) -> None:
    store.append(decision(1))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        conn.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    newer = PostgresStore(pg_url)
    with pytest.raises(AuditError, match="newer than this CapFence"):
        newer.append(decision(2))
    newer.close()
    with pytest.raises(AuditError, match="newer than this CapFence"):
        PostgresReader(pg_url)


def test_the_database_is_created_by_the_first_write_only(pg_url: str) -> None:
    with pytest.raises(AuditError, match="holds no CapFence audit log"):
        open_reader(pg_url, build_registry().stores)


def test_append_decision_once_reuses_an_identical_decision_for_the_same_call(store: PostgresStore) -> None:
    record = decision(1, detail=json.dumps({"call_id": "c-1"}))
    first = store.append_decision_once(record)
    assert store.append_decision_once({**record, "ts": "later"}) == first
    assert store.append_decision_once({**record, "decision": "deny"}) != first


def test_bool_flags_are_stored_as_integers_and_still_verify(store: PostgresStore, pg_url: str) -> None:
    store.append(decision(1, truncated=True, redacted=False))
    assert chain_of(pg_url)[0]["truncated"] == 1
    assert_verifies(pg_url)


# --- the reader ---------------------------------------------------------------------------------


def test_reader_filters_like_the_sqlite_reader(store: PostgresStore, pg_url: str) -> None:
    stamped = []  # the store stamps ts itself, at commit
    for i in range(30):
        seq = store.append(
            decision(
                i,
                decision="warn" if i % 5 == 0 else "allow",
                capability="shell.execute" if i % 2 else "net.fetch",
            )
        )
        stamped.append(next(r["ts"] for r in chain_of(pg_url) if r["seq"] == seq))
        if i % 5 == 0:
            store.append({"ts": decision(i)["ts"], "kind": "outcome", "ref": seq, "outcome": "ran"})
    with open_reader(pg_url, build_registry().stores) as reader:
        warned = list(reader.decisions(Filters(decisions=("warn",))))
        assert [r["decision"] for r in warned] == ["warn"] * 6 and all(
            r["linked_outcome"] == "ran" for r in warned
        )
        assert len(list(reader.decisions(Filters(capability="shell.*")))) == 15
        assert len(list(reader.decisions(Filters(agent="agent-[!0]", capability="net.fetch")))) == 10
        newest = list(reader.decisions(Filters(), limit=4))
        assert [r["seq"] for r in newest] == sorted(r["seq"] for r in newest) and newest[-1][
            "payload"
        ] == '{"command": "echo 29"}'
        assert len(list(reader.decisions(Filters(since=str(stamped[10]), until=str(stamped[20]))))) == 10
        everything = list(reader.decisions(Filters()))
        assert [(r["ts"], r["seq"]) for r in everything] == sorted((r["ts"], r["seq"]) for r in everything)
        later = list(reader.decisions(Filters(after_seq=everything[19]["seq"])))
        assert later == everything[20:]  # after that record, in the reader's order
        summary = {(r["capability"], r["decision"]): r["calls"] for r in reader.summary(Filters())}
        assert summary[("net.fetch", "warn")] == 3 and summary[("shell.execute", "allow")] == 12
        calls = list(reader.calls(Filters(decisions=("warn",))))
        assert calls[0][:2] == (everything[0]["seq"], "net.fetch") and len(calls[0]) == 9
        last = max(r["seq"] for r in reader.records())
        head = reader.head()  # no cross-link yet: the last record
        assert (
            head is not None
            and head[0] == last
            and reader.find_hash(head[1]) == last
            and reader.chain_mode() == "sha256"
        )


def test_reader_connections_are_read_only(store: PostgresStore, pg_url: str) -> None:
    store.append(decision(1))
    reader = PostgresReader(pg_url)
    try:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader._conn.execute("DELETE FROM records")
    finally:
        reader.close()


# --- the runtime and approvals -----------------------------------------------------------------


def test_runtime_writes_decisions_and_outcomes(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    monkeypatch.setenv("CAPFENCE_AUDIT_LOG", pg_url)
    ran: list[str] = []
    with ActionRuntime.from_policy(policy) as runtime:
        shell = CapFenceTool(
            tool=lambda command: ran.append(command),  # noqa: PLW0108
            agent_id="a1",
            capability="shell.execute",
            gate=runtime,
        )
        shell(command="ls")
        with pytest.raises(PermissionError):
            shell(command="rm -rf /")
    assert ran == ["ls"]
    rows = chain_of(pg_url)
    assert [(r["kind"], r["decision"], r["outcome"]) for r in rows] == [
        ("decision", "warn", None),
        ("outcome", "warn", "ran"),
        ("decision", "deny", None),
        ("outcome", "deny", "blocked"),
    ]
    assert_verifies(pg_url)


def test_approvals_work_unchanged(tmp_path: Path, pg_url: str) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    ran: list[int] = []
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: ran.append(amount),  # noqa: PLW0108
            agent_id="billing",
            capability="payments.refund",
            gate=runtime,
        )
        with pytest.raises(ApprovalRequired) as held:
            refund(amount=5)
        with pytest.raises(ApprovalRequired) as again:
            refund(amount=5)
        assert again.value.request_id == held.value.request_id
        queue = runtime.approvals
        assert [r.id for r in queue.list("pending")] == [held.value.request_id]
        assert queue.approve(held.value.request_id, by="alice").status == "approved"
        with pytest.raises(ApprovalStateError):
            queue.deny(held.value.request_id, by="bob")
        refund(amount=5)
        assert ran == [5]
        assert queue.get(held.value.request_id).status == "consumed"
        with pytest.raises(ApprovalRequired):
            refund(amount=5)  # single use
    assert_verifies(pg_url)


# --- failing closed -------------------------------------------------------------------------------


def test_unreachable_database_denies_quickly(tmp_path: Path) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/audit?timeout=2"
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    with ActionRuntime.from_policy(policy, audit_log=url) as runtime:
        for _ in range(3):
            started = time.monotonic()
            result = runtime.evaluate("net.fetch", {"url": "https://x"}, agent_id="a")
            assert result.action == "deny" and "audit log not writable" in result.reason
            assert "nobody@127.0.0.1" in result.reason
            assert time.monotonic() - started < 3


def test_a_lock_held_elsewhere_times_out_instead_of_hanging(
    store: PostgresStore, mode: str, pg_url: str
) -> None:
    first = store.append(decision(1))
    quick = PostgresStore(mode + ("&" if "?" in mode else "?") + "timeout=1")  # same process: same partition
    blocker = psycopg.connect(pg_url)
    try:
        blocker.execute(lock_of(pg_url, first))
        started = time.monotonic()
        busy = r"audit log busy: could not write within 1\.0 s \(canceling statement due to (lock|statement) timeout"
        with pytest.raises(AuditBusy, match=busy):
            quick.append(decision(2))
        assert time.monotonic() - started < 2.5
    finally:
        blocker.rollback()
        blocker.close()
    assert quick.append(decision(3)) == first + 1
    quick.close()


def test_approvals_api_on_a_store_opened_directly(pg_url: str) -> None:
    store = open_store(pg_url, build_registry().stores)
    try:
        queue = Approvals(store)  # type: ignore[arg-type]
        assert queue.list() == []
        with pytest.raises(ApprovalStateError):
            queue.approve("apr_missing", by="alice")
    finally:
        store.close()


def test_without_the_postgres_extra_the_runtime_denies_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)
    with pytest.raises(AuditError, match=r"pip install .psycopg\[binary\]>=3.2. .psycopg-pool>=3.2."):
        PostgresStore("postgresql://u@127.0.0.1/db")
    policy = tmp_path / "policy.yaml"
    policy.write_text(textwrap.dedent(POLICY))
    with ActionRuntime.from_policy(policy, audit_log="postgresql://u@127.0.0.1/db") as runtime:
        result = runtime.evaluate("net.fetch", {}, agent_id="a")
    assert result.action == "deny" and "pip install 'psycopg[binary]>=3.2'" in result.reason
