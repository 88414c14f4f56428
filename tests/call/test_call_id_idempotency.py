"""One decision record per execution; a blocked call re-run under its call id is not recorded twice.

Graph frameworks run a step again after an interrupt or when a checkpoint is
replayed; adapters pass the framework's call id (``Binding.call_id``,
``ActionRuntime.evaluate(call_id=...)``). A call that is *blocked* again
(still held, denied) reuses the identical decision already recorded for that
id and the same arguments (compared losslessly). A decision that lets the body
run is never reused: both LangChain and LlamaIndex can reuse a call id, and
each execution must have its own record.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capfence.audit.sqlite import (
    _FIND_DECISION,
    _SAME_DECISION_FIELDS,
    CALL_DETAIL,
    SCHEMA_VERSION,
    SQLiteStore,
)
from capfence.call.gate import Binding
from capfence.call.runtime import ActionRuntime
from tests.support.audit import decided_call_ids

POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
warn:
  - capability: shell.execute
"""


def test_each_allowed_decision_has_its_own_record(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    rt = runtime(POLICY)
    first = rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    again = rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    assert first.allowed and again.allowed
    assert again.record_id != first.record_id
    assert decided_call_ids(tmp_path / "audit.db") == [("warn", "c1"), ("warn", "c1")]


def test_blocked_reuse_needs_exactly_the_same_arguments(
    runtime: Callable[..., ActionRuntime], tmp_path: Path
) -> None:
    """Values the readable audit form folds together (bytes and str, tuple and list) are different calls."""
    rt = runtime(POLICY)
    first = rt.evaluate("shell.execute", {"command": "rm -rf /", "opts": ("a",)}, agent_id="a", call_id="c1")
    second = rt.evaluate("shell.execute", {"command": "rm -rf /", "opts": ["a"]}, agent_id="a", call_id="c1")
    third = rt.evaluate("shell.execute", {"command": b"rm -rf /", "opts": ["a"]}, agent_id="a", call_id="c1")
    assert {first.action, second.action, third.action} == {"deny"}
    assert len({first.record_id, second.record_id, third.record_id}) == 3


def test_a_denied_call_re_run_is_recorded_once(runtime: Callable[..., ActionRuntime], tmp_path: Path) -> None:
    rt = runtime(POLICY)
    for _ in range(3):
        assert (
            rt.evaluate("shell.execute", {"command": "rm -rf /"}, agent_id="a", call_id="c1").action == "deny"
        )
    assert decided_call_ids(tmp_path / "audit.db") == [("deny", "c1")]


def test_anything_different_is_a_new_decision(
    runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path
) -> None:
    rt = runtime(POLICY)
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    rt.evaluate("shell.execute", {"command": "ls -l"}, agent_id="a", call_id="c1")  # other arguments
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="b", call_id="c1")  # other agent
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c2")  # other call
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a")  # no call id: never deduplicated
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert len(audit_rows(tmp_path / "audit.db", "decision")) == 6


def test_a_changed_policy_decides_anew(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    path = write_policy(POLICY)
    with ActionRuntime.from_policy(path, audit_log=tmp_path / "audit.db") as rt:
        rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    write_policy(POLICY.replace("warn:", "allow:"))
    with ActionRuntime.from_policy(path, audit_log=tmp_path / "audit.db") as rt:
        assert rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1").action == "allow"
    assert decided_call_ids(tmp_path / "audit.db") == [("warn", "c1"), ("allow", "c1")]


def test_binding_passes_its_call_id(
    runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path
) -> None:
    rt = runtime(POLICY)
    binding = Binding(
        gate=rt, agent_id="a", capability="shell.execute", framework="test", tool="sh", call_id="k1"
    )
    ran: list[int] = []
    for _ in range(2):
        binding.call(1, {"command": "ls"}, lambda: ran.append(1))
    assert ran == [1, 1]
    assert decided_call_ids(tmp_path / "audit.db") == [("warn", "k1"), ("warn", "k1")], (
        "two executions, two records"
    )
    assert [r["outcome"] for r in audit_rows(tmp_path / "audit.db", "outcome")] == ["ran", "ran"]


def test_deep_copies_share_the_binding(runtime: Callable[..., ActionRuntime]) -> None:
    binding = Binding(gate=runtime(POLICY), agent_id="a", capability="c", framework="f")
    assert copy.deepcopy(binding) is binding
    assert copy.deepcopy({"binding": binding})["binding"] is binding


def test_concurrent_re_runs_write_one_decision(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "audit.db")
    record = {
        "ts": "t",
        "kind": "decision",
        "agent_id": "a",
        "capability": "c",
        "payload_sha256": "x",
        "decision": "warn",
        "detail": json.dumps({"call_id": "c1"}),
    }
    seqs: list[int] = []
    threads = [
        threading.Thread(target=lambda: seqs.append(store.append_decision_once(record))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    assert set(seqs) == {1}


def test_the_lookup_uses_an_index_and_old_logs_get_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    SQLiteStore(path).append({"ts": "t", "kind": "decision"})
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX records_call")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    store = SQLiteStore(path)
    store.append_decision_once({"ts": "t", "kind": "decision", "detail": '{"call_id": "c1"}'})
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    plan = conn.execute(
        "EXPLAIN QUERY PLAN " + _FIND_DECISION, ["x", *["a"] * len(_SAME_DECISION_FIELDS)]
    ).fetchall()
    indexed = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'records_call'").fetchone()[0]
    conn.close()
    assert "records_call" in str(plan)
    # only decisions with a call id are indexed, not every decision (each carries provenance)
    assert CALL_DETAIL in indexed
