"""``capfence logs`` against a real audit log written by a real ActionRuntime."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.support.cli import COMMAND, observed_log, record_calls, run
from tests.support.paths import POLICIES


def test_table_shows_every_column_and_warn_stands_out(tmp_path: Path) -> None:
    out = run("logs", "--audit-log", observed_log(tmp_path)).stdout
    header = out.splitlines()[0].split()
    assert header == [
        "time",
        "agent",
        "tool",
        "capability",
        "decision",
        "rule",
        "provenance",
        "outcome",
        "reason",
        "payload",
    ]
    ls = next(line for line in out.splitlines() if "ls -la" in line)
    assert "prod-agent" in ls and "run_shell" in ls and "WARN" in ls and "warn[0]" in ls and " ran " in ls
    assert "rule policies/shell_rollout.yaml:7" in ls  # provenance: what decided, and where
    read = next(line for line in out.splitlines() if "/etc/hosts" in line)
    assert " allow " in read and "WARN" not in read
    assert "DENY" in next(line for line in out.splitlines() if "rm -rf" in line)
    assert "(default)" in next(line for line in out.splitlines() if "net.fetch" in line)
    assert out.rstrip().endswith("8 decision(s)")


def test_times_are_local(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    utc = run("logs", "--audit-log", audit, "-n", "1").stdout.splitlines()[2][:19]
    tokyo = run("logs", "--audit-log", audit, "-n", "1", env={"TZ": "Asia/Tokyo"}).stdout.splitlines()[2][:19]
    assert int(tokyo[11:13]) == (int(utc[11:13]) + 9) % 24


def test_filters(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)

    def lines(*args: str) -> list[str]:
        return [
            json.loads(line)
            for line in run("logs", "--audit-log", audit, "--format", "jsonl", *args).stdout.splitlines()
        ]

    assert {r["decision"] for r in lines("--decision", "warn")} == {"warn"} and len(
        lines("--decision", "warn")
    ) == 5
    assert len(lines("--decision", "deny,allow")) == 3
    assert {r["agent_id"] for r in lines("--agent", "help*")} == {"helper"}
    assert {r["capability"] for r in lines("--capability", "shell.*")} == {"shell.execute"}
    assert len(lines("--capability", "filesystem.read")) == 1
    assert len(lines("--tool", "run_shell")) == 6
    assert len(lines("--since", "1h")) == 8 and lines("--until", "1h") == []
    assert lines("--since", "2999-01-01") == [] and len(lines("--until", "2999-01-01T00:00:00Z")) == 8
    newest = lines("--limit", "2")
    assert [r["capability"] for r in newest] == ["filesystem.read", "net.fetch"]


def test_json_formats_carry_every_field(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    records = json.loads(run("logs", "--audit-log", audit, "--format", "json").stdout)
    assert len(records) == 8
    first = records[0]
    assert (
        first["payload"] == {"command": "ls -la"}
        and first["outcome"] == "ran"
        and first["truncated"] is False
    )
    for name in (
        "seq",
        "ts",
        "agent_id",
        "tool",
        "capability",
        "decision",
        "rule",
        "reason",
        "policy_digest",
        "hash",
        "prev_hash",
    ):
        assert name in first


def test_summary_groups_and_lists_unmatched_capabilities(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    out = run("logs", "--audit-log", audit, "--summary").stdout
    warn = next(line for line in out.splitlines() if "warn[0]" in line)
    assert warn.split()[:4] == ["shell.execute", "WARN", "warn[0]", "5"]
    assert "Matched no rule (decided by the policy default):" in out and "net.fetch  1 call(s)" in out
    document = json.loads(run("logs", "--audit-log", audit, "--summary", "--format", "json").stdout)
    assert document["unmatched_capabilities"] == {"net.fetch": 1}
    groups = {(g["capability"], g["decision"], g["rule"], g["calls"]) for g in document["groups"]}
    assert ("shell.execute", "warn", "warn[0]", 5) in groups


def test_empty_result(tmp_path: Path) -> None:
    assert (
        run("logs", "--audit-log", observed_log(tmp_path), "--agent", "nobody").stdout.strip()
        == "No decisions match."
    )


def test_follow_prints_new_decisions(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    args = [
        "logs",
        "--audit-log",
        str(audit),
        "--follow",
        "--interval",
        "0.1",
        "-n",
        "1",
        "--format",
        "jsonl",
    ]
    process = subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = json.loads(process.stdout.readline())
        assert first["capability"] == "net.fetch"
        record_calls(audit, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": "whoami"})])
        assert json.loads(process.stdout.readline())["payload"] == {"command": "whoami"}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_follow_table_lines(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    args = ["logs", "--audit-log", str(audit), "-f", "--interval", "0.1", "-n", "2"]
    process = subprocess.Popen(
        [*COMMAND, *args], stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    try:
        assert process.stdout is not None
        header = process.stdout.readline()
        assert header.split() == [
            "time",
            "agent",
            "tool",
            "capability",
            "decision",
            "rule",
            "outcome",
            "reason",
            "payload",
        ]
        assert set(process.stdout.readline().strip()) <= {"─", " "}
        assert "filesystem.read" in process.stdout.readline()
        assert "net.fetch" in process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=10)
