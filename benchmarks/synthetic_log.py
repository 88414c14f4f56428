"""Large audit logs for the benchmarks: the store's real schema, then rows chained with the store's hash.

The rows are appended the way the store appends them (each one's ``prev_hash`` and ``hash``
chained to the one before, no key), so ``capfence verify`` passes on the result. Writing a
million rows through the runtime would take many minutes; this takes seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path

from capfence.audit.chain import GENESIS, record_hash
from capfence.audit.sqlite import COLUMNS, SQLiteStore

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


def build(path: Path, rows: Iterable[dict[str, object]]) -> None:
    """A new audit log at ``path``: the store's schema and no record, then ``rows``, chained.

    The rows' times must never go backwards, as the store stamps them (a log whose times do keeps its
    ``ts`` index and is read differently, see ``capfence.audit.timeorder``).
    """
    store = SQLiteStore(path)
    with store.transaction():
        pass
    store.close()
    conn = sqlite3.connect(path)
    prev = GENESIS
    insert = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    batch: list[list[object]] = []
    for seq, fields in enumerate(rows, start=1):
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
