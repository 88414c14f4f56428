"""Large audit logs for the benchmarks: a real schema made by ActionRuntime, then rows chained with the store's hash.

The rows are appended the way the store appends them (each one's ``prev_hash`` and ``hash``
chained to the one before, no key), so ``capfence verify`` passes on the result. Writing a
million rows through the runtime would take many minutes; this takes seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from capfence.audit.chain import record_hash
from capfence.audit.sqlite import COLUMNS
from capfence.runtime import ActionRuntime

BATCH = 50_000


def decision_row(
    *,
    ts: str,
    agent_id: str,
    tool: str,
    capability: str,
    payload: str,
    decision: str,
    rule: str,
    reason: str,
    framework: str = "langchain",
) -> dict[str, object]:
    """One decision record (without ``seq`` and the chain's hashes, which :func:`build` adds)."""
    return {
        "ts": ts,
        "kind": "decision",
        "agent_id": agent_id,
        "framework": framework,
        "tool": tool,
        "capability": capability,
        "environment": "production",
        "payload": payload,
        "payload_sha256": "0" * 64,
        "payload_bytes": len(payload),
        "truncated": 0,
        "redacted": 0,
        "decision": decision,
        "rule": rule,
        "reason": reason,
        "policy_digest": "1" * 64,
        "ref": None,
        "outcome": None,
        "detail": None,
    }


def build(path: Path, policy: Path, rows: Iterable[dict[str, object]]) -> None:
    """A new audit log at ``path``: one real decision under ``policy`` (the schema), then ``rows``, chained."""
    with ActionRuntime.from_policy(policy, audit_log=path) as runtime:
        runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="bench", tool="run_shell")
    conn = sqlite3.connect(path)
    seq, prev = conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
    insert = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    batch: list[list[object]] = []
    for fields in rows:
        seq += 1
        row = {**fields, "seq": seq, "prev_hash": prev}
        row["hash"] = prev = record_hash(prev, row, None)
        batch.append([row[c] for c in COLUMNS])
        if len(batch) == BATCH:
            conn.executemany(insert, batch)
            conn.commit()
            batch.clear()
    conn.executemany(insert, batch)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
