"""``capfence export``: one JSON object per decision, every recorded field, streamed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support.cli import observed_log, run


def test_export_writes_one_object_per_decision(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    done = run("export", "--audit-log", audit, "-o", tmp_path / "audit.jsonl")
    assert done.stdout == f"Exported 8 decision(s) from {audit} to {tmp_path / 'audit.jsonl'}.\n"
    records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    conn = sqlite3.connect(audit)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(records)")]
    assert len(records) == 8 and all(list(r) == columns for r in records)
    assert [r["payload"]["command"] for r in records[:6]] == [
        "ls -la",
        "cat README.md",
        "rm -rf /tmp/build-cache",
        "curl -s https://example.com/health",
        "systemctl restart nginx",
        "git status",
    ]
    assert [r["outcome"] for r in records[:3]] == ["ran", "ran", "blocked"]
    assert {r["kind"] for r in records} == {"decision"}


def test_export_filters_and_stdout(tmp_path: Path) -> None:
    done = run("export", "--audit-log", observed_log(tmp_path), "--decision", "deny")
    assert [json.loads(line)["decision"] for line in done.stdout.splitlines()] == ["deny", "deny"]
    assert done.stderr == "Exported 2 decision(s).\n"


def test_export_leaves_no_partial_file_on_failure(tmp_path: Path) -> None:
    run("export", "--audit-log", tmp_path / "missing.db", "-o", tmp_path / "out.jsonl", check=1)
    assert list(tmp_path.iterdir()) == []
