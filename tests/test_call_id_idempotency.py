"""A framework re-running one tool call (same call id) does not duplicate its decision in the audit log.

Graph frameworks run a step again after an interrupt or when a checkpoint is
replayed; adapters pass the framework's call id (``Binding.call_id``,
``ActionRuntime.evaluate(call_id=...)``) and the runtime reuses an *identical*
decision already recorded for that id. Anything that differs is a new decision.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from capfence.audit.sqlite import SCHEMA_VERSION, SQLiteStore
from capfence.gate import Binding
from capfence.runtime import ActionRuntime

POLICY = """
deny:
  - id: no-rm
    capability: shell.execute
    contains: rm -rf
warn:
  - capability: shell.execute
"""


def decisions(rows: Callable[..., list[dict[str, Any]]], path: Path) -> list[tuple[str, str | None]]:
    return [(r["decision"], json.loads(r["detail"]).get("call_id") if r["detail"] else None) for r in rows(path, "decision")]


def test_same_call_same_decision_is_recorded_once(runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path) -> None:
    rt = runtime(POLICY)
    first = rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    again = rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    assert again == first and first.record_id is not None
    assert decisions(audit_rows, tmp_path / "audit.db") == [("warn", "c1")]


def test_a_denied_call_re_run_is_recorded_once(runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path) -> None:
    rt = runtime(POLICY)
    for _ in range(3):
        assert rt.evaluate("shell.execute", {"command": "rm -rf /"}, agent_id="a", call_id="c1").action == "deny"
    assert decisions(audit_rows, tmp_path / "audit.db") == [("deny", "c1")]


def test_anything_different_is_a_new_decision(runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path) -> None:
    rt = runtime(POLICY)
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    rt.evaluate("shell.execute", {"command": "ls -l"}, agent_id="a", call_id="c1")  # other arguments
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="b", call_id="c1")  # other agent
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c2")  # other call
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a")  # no call id: never deduplicated
    rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    assert len(audit_rows(tmp_path / "audit.db", "decision")) == 6


def test_a_changed_policy_decides_anew(write_policy: Callable[..., Path], audit_rows: Callable[..., Any], tmp_path: Path) -> None:
    path = write_policy(POLICY)
    with ActionRuntime.from_policy(path, audit_log=tmp_path / "audit.db") as rt:
        rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1")
    write_policy(POLICY.replace("warn:", "allow:"))
    with ActionRuntime.from_policy(path, audit_log=tmp_path / "audit.db") as rt:
        assert rt.evaluate("shell.execute", {"command": "ls"}, agent_id="a", call_id="c1").action == "allow"
    assert decisions(audit_rows, tmp_path / "audit.db") == [("warn", "c1"), ("allow", "c1")]


def test_binding_passes_its_call_id(runtime: Callable[..., ActionRuntime], audit_rows: Any, tmp_path: Path) -> None:
    rt = runtime(POLICY)
    binding = Binding(gate=rt, agent_id="a", capability="shell.execute", framework="test", tool="sh", call_id="k1")
    ran: list[int] = []
    for _ in range(2):
        binding.call(1, {"command": "ls"}, lambda: ran.append(1))
    assert ran == [1, 1], "a re-run call still runs; only its decision is not written twice"
    assert decisions(audit_rows, tmp_path / "audit.db") == [("warn", "k1")]
    assert [r["outcome"] for r in audit_rows(tmp_path / "audit.db", "outcome")] == ["ran", "ran"]


def test_deep_copies_share_the_binding(runtime: Callable[..., ActionRuntime]) -> None:
    binding = Binding(gate=runtime(POLICY), agent_id="a", capability="c", framework="f")
    assert copy.deepcopy(binding) is binding
    assert copy.deepcopy({"binding": binding})["binding"] is binding


def test_concurrent_re_runs_write_one_decision(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "audit.db")
    record = {"ts": "t", "kind": "decision", "agent_id": "a", "capability": "c", "payload_sha256": "x", "decision": "warn",
              "detail": json.dumps({"call_id": "c1"})}
    seqs: list[int] = []
    threads = [threading.Thread(target=lambda: seqs.append(store.append_decision_once(record))) for _ in range(8)]
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
    query = "EXPLAIN QUERY PLAN SELECT seq FROM records WHERE kind = 'decision' AND detail = ? AND agent_id IS ?"
    plan = conn.execute(query, ("x", "a")).fetchall()
    conn.close()
    assert "records_call" in str(plan)
