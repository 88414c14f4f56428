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


def test_a_payload_that_is_not_valid_unicode_is_exported_escaped(tmp_path: Path) -> None:
    """A lone surrogate (stored escaped) cannot be UTF-8: its record is written with \\u escapes, to a file and to stdout."""
    from capfence import ActionRuntime

    policy = tmp_path / "p.yaml"
    policy.write_text("default: warn\n")
    log = tmp_path / "audit.db"
    with ActionRuntime.from_policy(policy, audit_log=log) as runtime:
        runtime.evaluate("shell.execute", {"command": "echo a\ud800b"}, agent_id="a")
        runtime.evaluate("shell.execute", {"command": "echo é"}, agent_id="a")
    run("export", "--audit-log", log, "-o", tmp_path / "out.jsonl")
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    printed = run("export", "--audit-log", log).stdout.splitlines()
    assert lines == printed
    assert [json.loads(line)["payload"]["command"] for line in lines] == ["echo a\ud800b", "echo é"]
    assert "\\ud800" in lines[0] and "é" in lines[1], "only the record that needs it is escaped"
