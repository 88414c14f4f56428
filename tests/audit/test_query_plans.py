"""The SQLite audit log's indexes, shown by the query plans that need them.

Each decision writes one entry per secondary index of ``records``, so the log
keeps only the indexes some query that must stay fast on a large log uses:
this file asserts, with ``EXPLAIN QUERY PLAN`` on a log made by the store
itself (no ``ANALYZE`` statistics, as in the field), which index each query
shape of ``logs``, ``export``, ``suggest``, approvals, limits and the web
console uses, and that no index is left that none of them needs.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from capfence.audit import approval_events
from capfence.audit.layout import OLD_LAYOUT, Layout
from capfence.audit.query import Filters, newest_order, sql_where
from capfence.audit.reader import _ALL, _NEWEST, SQLiteReader
from capfence.audit.sqlite import _FIND_DECISION, SCHEMA_VERSION, SQLiteStore
from capfence.call.limiting import USAGE
from capfence.web.source import where as console_where
from tests.support.paths import DATA

KEPT = {
    "records_decision",
    "records_agent",
    "records_capability",
    "records_ref",
    "records_call",
    "approvals_digest",
    "approvals_status",
}


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plans") / "audit.db"
    store = SQLiteStore(path)
    for n in range(300):
        seq = store.append(
            {
                "kind": "decision",
                "agent_id": f"agent-{n % 7}",
                "capability": "shell.execute" if n % 3 else "fs.read",
                "tool": "run",
                "decision": ("allow", "warn", "deny")[n % 3],
                "rule": "r",
                "policy_digest": "d",
                "detail": f'{{"call_id": "c{n}"}}' if n % 2 else None,
            }
        )
        if n % 10 == 0:
            store.append({"kind": "outcome", "ref": seq, "outcome": "ok"})
    store.close()
    return path


def plan(path: Path, sql: str, params: list[object] | tuple[object, ...] = ()) -> str:
    with sqlite3.connect(path) as conn:
        return "\n".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", list(params)))


def test_only_the_needed_indexes_exist_and_ref_is_partial(log: Path) -> None:
    with sqlite3.connect(log) as conn:
        indexes = dict(
            conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            ).fetchall()
        )
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert set(indexes) == KEPT
    assert indexes["records_ref"].endswith("WHERE ref IS NOT NULL")  # a decision (ref NULL) writes no entry
    assert "WHERE" in indexes["records_call"]
    for name in ("records_decision", "records_agent", "records_capability"):  # an outcome writes no entry
        assert indexes[name].endswith("WHERE kind = 'decision'"), indexes[name]
    with SQLiteReader(log) as reader:
        assert reader._layout == NEW


NEW = Layout(decisions_only=True, seq_ordered=True)
"""A log of schema 7 whose ``ts`` never goes backwards: every log the store writes now."""
PRIMARY_KEY = "INTEGER PRIMARY KEY"
"""How a plan names the table's key (``seq``): newest first without a column filter, it walks it back from the head."""


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (Filters(), "SCAN records"),  # in key order, backwards: the head first, stop after the limit
        (Filters(since="2020-01-01"), PRIMARY_KEY),  # a time range is a seq range (binary search)
        (Filters(since="2020-01-01", until="2030-01-01"), PRIMARY_KEY),
        (Filters(agent="agent-3"), "records_agent"),
        (Filters(agent="agent-3", since="2020-01-01"), "records_agent"),
        (Filters(capability="fs.read"), "records_capability"),
        (Filters(agent="agent-*"), "SCAN records"),  # a glob: walk the key back, stop after the limit
        (Filters(decisions=("deny",)), "records_decision"),
    ],
)
def test_logs_newest_first_uses_an_index_in_time_order(log: Path, filters: Filters, index: str) -> None:
    where, params = sql_where(filters, newest_first=True, layout=NEW)
    sql = _NEWEST.format(where=where, order=newest_order(filters, seq_ordered=True))
    shown = plan(log, sql, [*params, 50])
    inner = shown.split("CORRELATED")[0]
    assert index in inner and "TEMP B-TREE" not in inner, shown
    assert "records_ref" in shown, shown  # each row's linked outcome


def test_logs_since_and_export_read_in_order(log: Path) -> None:
    # export, replay, suggest: streamed in seq order, nothing sorted
    for filters in (Filters(), Filters(since="2020-01-01")):
        where, params = sql_where(filters, newest_first=True, layout=NEW)
        shown = plan(log, _ALL.format(where=where), params)
        assert "TEMP B-TREE" not in shown and "records_decision" not in shown, shown
        if filters.since:
            assert f"{PRIMARY_KEY} (rowid>?)" in shown, shown
    # export, verify: the table in key order, nothing sorted
    shown = plan(log, "SELECT * FROM records ORDER BY seq")
    assert "SCAN records" in shown and "TEMP B-TREE" not in shown


def test_newest_digest_walks_back_from_the_head(log: Path) -> None:
    with SQLiteReader(log) as reader:
        assert reader.newest_digest(Filters()) == "d"
    where, params = sql_where(Filters(), newest_first=True, layout=NEW)
    shown = plan(
        log,
        f"SELECT policy_digest FROM records WHERE {where} AND policy_digest IS NOT NULL ORDER BY seq DESC LIMIT 1",
        params,
    )
    assert "TEMP B-TREE" not in shown, shown


def test_outcomes_approval_events_and_call_ids_use_their_partial_indexes(log: Path) -> None:
    assert "records_ref (ref=?)" in plan(log, approval_events._LATEST, [1])
    assert "records_ref (ref=?)" in plan(
        log, "SELECT * FROM records WHERE ref = ? AND kind = 'outcome' ORDER BY seq", [1]
    )
    assert "records_call (detail=?)" in plan(log, _FIND_DECISION, [None] * 11)


def test_limits_and_approvals_use_their_keys(log: Path) -> None:
    assert "PRIMARY KEY (key=? AND ts>?)" in plan(log, USAGE, ["k", "2020"])
    assert "approvals_digest" in plan(
        log, "SELECT * FROM approvals WHERE digest = ? AND status = ? ORDER BY created LIMIT 1", ["d", "x"]
    )
    assert "approvals_status" in plan(
        log, "SELECT * FROM approvals WHERE status IN ('pending', 'approved') AND expires < ?", ["x"]
    )


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (Filters(), PRIMARY_KEY),
        (Filters(since="2020-01-01"), PRIMARY_KEY),
        (Filters(agent="agent-3"), "records_agent"),
        (Filters(capability="fs.read"), "records_capability"),
        (Filters(decisions=("deny",)), "records_decision"),
    ],
)
def test_console_pages_use_an_index_in_time_order(log: Path, filters: Filters, index: str) -> None:
    clause, params = console_where(filters, postgres=False, newest_first=True, layout=NEW)
    order = newest_order(filters, seq_ordered=True)
    sql = f"SELECT seq FROM records WHERE {clause} AND ts <= ? AND seq < ? ORDER BY {order} LIMIT ?"
    shown = plan(log, sql, [*params, "9999", 10**9, 51])
    assert index in shown and "TEMP B-TREE" not in shown, shown


def test_a_v4_log_migrates_to_the_partial_index_and_still_verifies(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from capfence.cli.app import cli

    path = tmp_path / "v4.db"
    store = SQLiteStore(path)
    first = store.append({"kind": "decision", "capability": "x"})
    store.append({"kind": "outcome", "ref": first, "outcome": "ok"})
    store.close()
    with sqlite3.connect(path) as conn:  # as schema v4 left it: every record in records_ref
        conn.execute("DROP INDEX records_ref")
        conn.execute("CREATE INDEX records_ref ON records(ref)")
        conn.execute("PRAGMA user_version = 4")
    store = SQLiteStore(path)
    store.append({"kind": "decision", "capability": "y"})
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'records_ref'").fetchone()[0]
    assert sql.endswith("WHERE ref IS NOT NULL")
    result = CliRunner().invoke(cli, ["verify", "--audit-log", str(path)])
    assert result.exit_code == 0 and "OK: 3 record(s)" in result.output, result.output


def test_checkpoints_run_off_the_callers_thread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time

    from capfence.audit import sqlite as module

    monkeypatch.setattr(module, "CHECKPOINT_EVERY", 20)
    path = tmp_path / "audit.db"
    store = SQLiteStore(path)
    store.append({"kind": "decision", "capability": "first"})
    assert (
        store._conn is not None
        and store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == module.WAL_AUTOCHECKPOINT
    )
    # none until there is work for it
    assert not [t for t in threading.enumerate() if t.name == "capfence-audit-checkpoint"]
    before = path.stat().st_size
    for n in range(44):
        store.append({"kind": "decision", "capability": f"c{n}", "payload": "x" * 2000})
    threads = [t for t in threading.enumerate() if t.name == "capfence-audit-checkpoint"]
    assert len(threads) == 1
    deadline = time.monotonic() + 10
    # the thread copies the WAL into the database file
    while path.stat().st_size <= before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert path.stat().st_size > before
    store.close()
    assert not threads[0].is_alive()  # close() ends the thread and closes its connection
    assert [r[0] for r in sqlite3.connect(path).execute("SELECT seq FROM records ORDER BY seq")] == list(
        range(1, 46)
    )


def test_the_checkpoint_thread_ends_when_quiet_and_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from capfence.audit import sqlite as module

    monkeypatch.setattr(module, "CHECKPOINT_EVERY", 5)
    monkeypatch.setattr(module, "CHECKPOINT_IDLE", 0.05)
    store = SQLiteStore(tmp_path / "audit.db")
    for n in range(5):
        store.append({"kind": "decision", "capability": f"c{n}"})
    checkpointer = store._checkpointer
    assert checkpointer is not None and checkpointer._thread is not None
    first = checkpointer._thread
    first.join(timeout=5)
    assert not first.is_alive()  # a store left unclosed keeps no thread nor connection
    for n in range(5):
        store.append({"kind": "decision", "capability": f"d{n}"})
    assert checkpointer._thread is not first and checkpointer._thread.is_alive()
    second = checkpointer._thread
    store.close()
    assert not second.is_alive()


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (Filters(), "records_ts"),
        (Filters(since="2020-01-01"), "records_ts"),
        (Filters(agent="agent-*"), "records_ts"),
        (Filters(agent="agent-3"), "records_agent"),
        (Filters(decisions=("deny",)), "records_decision"),
    ],
)
def test_a_log_whose_time_goes_back_is_read_through_its_time_index(
    tmp_path: Path, log: Path, filters: Filters, index: str
) -> None:
    old = tmp_path / "old.db"
    old.write_bytes(log.read_bytes())
    with sqlite3.connect(old) as conn:  # what step 7 leaves of a log whose ts goes back somewhere
        conn.execute("CREATE INDEX records_ts ON records(ts)")
    with SQLiteReader(old) as reader:
        shape = reader._layout
    assert shape == Layout(decisions_only=True, seq_ordered=False)
    where, params = sql_where(filters, newest_first=True, layout=shape)
    shown = plan(
        old, _NEWEST.format(where=where, order=newest_order(filters, seq_ordered=False)), [*params, 50]
    )
    inner = shown.split("CORRELATED")[0]
    assert index in inner and "TEMP B-TREE" not in inner, shown


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        (Filters(), "records_ts"),
        (Filters(since="2020-01-01"), "records_ts"),
        (Filters(agent="agent-1"), "records_agent"),
        (Filters(capability="fs.read"), "records_capability"),
        (Filters(decisions=("deny",)), "records_decision"),
    ],
)
def test_a_log_of_schema_6_read_without_migrating_uses_its_own_indexes(
    tmp_path: Path, filters: Filters, index: str
) -> None:
    v6 = tmp_path / "v6.db"  # readers never migrate
    v6.write_bytes((DATA / "audit-v6.db").read_bytes())
    with SQLiteReader(v6) as reader:
        assert reader._layout == OLD_LAYOUT
    where, params = sql_where(filters, newest_first=True, layout=OLD_LAYOUT)
    shown = plan(
        v6, _NEWEST.format(where=where, order=newest_order(filters, seq_ordered=False)), [*params, 50]
    )
    inner = shown.split("CORRELATED")[0]
    assert index in inner and "TEMP B-TREE" not in inner, shown


def test_without_the_thread_the_committing_writer_checkpoints_at_its_own_threshold(tmp_path: Path) -> None:
    from capfence.audit import sqlite as module

    assert module.CHECKPOINT_EVERY == 0  # the thread ships off
    store = SQLiteStore(tmp_path / "audit.db")
    store.append({"kind": "decision", "capability": "first"})
    assert store._conn is not None
    assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == module.COMMIT_CHECKPOINT
    assert store._checkpointer is None
    store.close()
