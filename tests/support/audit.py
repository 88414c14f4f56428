"""Reading a SQLite audit log the way an auditor would: the rows themselves, and the hash chain checked by hand."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from capfence.audit.chain import GENESIS, record_hash


def audit_rows(path: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    """Every record in the SQLite audit log at ``path`` (of ``kind`` if given), in chain order."""
    conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        if kind is None:
            rows = conn.execute("SELECT * FROM records ORDER BY seq").fetchall()
        else:
            rows = conn.execute("SELECT * FROM records WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def verify_chain(rows: list[dict[str, Any]], key: bytes | None = None) -> None:
    """Assert that ``rows`` (every record, in chain order) link up from the genesis hash and each hash is right."""
    prev = GENESIS
    for row in rows:
        assert row["prev_hash"] == prev, f"chain broken before seq {row['seq']}"
        assert record_hash(prev, row, key) == row["hash"], f"hash mismatch at seq {row['seq']}"
        prev = row["hash"]


def decided_call_ids(path: str | Path) -> list[tuple[str, str | None]]:
    """Each decision record's (decision, call id) in the SQLite log at ``path``, in chain order."""
    return [
        (row["decision"], json.loads(row["detail"]).get("call_id") if row["detail"] else None)
        for row in audit_rows(path, "decision")
    ]
