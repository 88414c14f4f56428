"""The ``capfence`` command line against a real PostgreSQL audit log, and the migration from SQLite."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import psycopg
import pytest

from capfence import ActionRuntime, ApprovalRequired, CapFenceTool
from tests.support.cli import observed_log, record_calls, run
from tests.support.paths import POLICIES

APPROVAL_POLICY = """
require_approval:
  - id: refunds
    capability: payments.refund
allow:
  - capability: "*"
"""


@pytest.fixture
def sqlite_log(tmp_path: Path) -> Path:
    """A SQLite log with decisions, outcomes and approval events (the README walkthrough's traffic plus a held call)."""
    audit = observed_log(tmp_path)
    policy = tmp_path / "approvals.yaml"
    policy.write_text(textwrap.dedent(APPROVAL_POLICY))
    with ActionRuntime.from_policy(policy, audit_log=audit) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: None, agent_id="billing", capability="payments.refund", gate=runtime
        )
        with pytest.raises(ApprovalRequired) as held:
            refund(amount=3)
        runtime.approvals.approve(str(held.value.request_id), by="alice")
        refund(amount=3)
    return audit


def migrate(sqlite_log: Path, url: str, tmp_path: Path) -> Path:
    full = tmp_path / "full.jsonl"
    assert "Exported" in run("export", "--all-records", "--audit-log", sqlite_log, "-o", full).stdout
    done = run("import", full, "--audit-log", url)
    assert "Imported" in done.stdout and "postgresql://" in done.stdout
    return full


def test_export_import_verify_and_read_back_identically(
    sqlite_log: Path, pg_url: str, tmp_path: Path
) -> None:
    full = migrate(sqlite_log, pg_url, tmp_path)
    kinds = {json.loads(line)["kind"] for line in full.read_text().splitlines()}
    assert {"decision", "outcome", "approval"} <= kinds
    assert "OK" in run("verify", "--audit-log", pg_url).stdout.upper()
    for args in (
        ["logs", "--format", "json", "--limit", "0"],
        ["export"],
        ["logs", "--summary", "--format", "json"],
        ["logs", "--format", "jsonl", "--decision", "warn", "--capability", "shell.*"],
        ["export", "--all-records"],
    ):
        from_sqlite = run(*args, "--audit-log", sqlite_log).stdout
        assert run(*args, "--audit-log", pg_url).stdout == from_sqlite, args
    table = run("logs", "--audit-log", pg_url, "--agent", "prod-*").stdout
    assert "rm -rf /tmp/build-cache" in table and "DENY" in table


def test_import_is_resumable_and_refuses_another_chain(sqlite_log: Path, pg_url: str, tmp_path: Path) -> None:
    full = migrate(sqlite_log, pg_url, tmp_path)
    assert "Nothing to import" in run("import", full, "--audit-log", pg_url).stdout
    # the SQLite log goes on being written; importing it again catches up
    record_calls(sqlite_log, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": "uptime"})])
    caught_up = run("import", sqlite_log, "--audit-log", pg_url).stdout
    assert "Imported 2 record(s)" in caught_up
    assert (
        run("export", "--all-records", "--audit-log", pg_url).stdout
        == run("export", "--all-records", "--audit-log", sqlite_log).stdout
    )
    # another chain is refused, and nothing is written
    other = tmp_path / "other"
    other.mkdir()
    other_log = observed_log(other)
    refused = run("import", other_log, "--audit-log", pg_url, check=1)
    assert "another chain" in refused.stderr
    assert "OK" in run("verify", "--audit-log", pg_url).stdout.upper()


def test_import_refuses_what_would_not_verify(sqlite_log: Path, pg_url: str, tmp_path: Path) -> None:
    decisions_only = tmp_path / "decisions.jsonl"
    run("export", "--audit-log", sqlite_log, "-o", decisions_only)
    assert "gap" in run("import", decisions_only, "--audit-log", pg_url, check=1).stderr
    full = tmp_path / "full.jsonl"
    run("export", "--all-records", "--audit-log", sqlite_log, "-o", full)
    lines = full.read_text().splitlines()
    tampered = json.loads(lines[2])
    tampered["payload"] = {"command": "ls"}
    (tmp_path / "tampered.jsonl").write_text("\n".join([*lines[:2], json.dumps(tampered), *lines[3:]]) + "\n")
    assert (
        "does not match its hash"
        in run("import", tmp_path / "tampered.jsonl", "--audit-log", pg_url, check=1).stderr
    )
    with psycopg.connect(pg_url) as conn:  # refused before anything was written
        assert conn.execute("SELECT count(*) FROM records").fetchone() == (0,)


def test_verify_detects_a_modified_record(sqlite_log: Path, pg_url: str, tmp_path: Path) -> None:
    migrate(sqlite_log, pg_url, tmp_path)
    with psycopg.connect(pg_url) as conn:
        conn.execute("UPDATE records SET decision = 'allow' WHERE seq = 5")
    done = run("verify", "--audit-log", pg_url, check=None)
    assert done.returncode != 0 and "5" in done.stdout + done.stderr


def test_approvals_commands(pg_url: str, tmp_path: Path) -> None:
    policy = tmp_path / "approvals.yaml"
    policy.write_text(textwrap.dedent(APPROVAL_POLICY))
    with ActionRuntime.from_policy(policy, audit_log=pg_url) as runtime:
        refund = CapFenceTool(
            tool=lambda amount: None, agent_id="billing", capability="payments.refund", gate=runtime
        )
        with pytest.raises(ApprovalRequired) as held:
            refund(amount=3)
    request_id = str(held.value.request_id)
    listed = json.loads(
        run("approvals", "list", "--status", "pending", "--format", "json", "--audit-log", pg_url).stdout
    )
    assert [r["id"] for r in listed] == [request_id]
    run(
        "approvals",
        "approve",
        request_id,
        "--as",
        "alice",
        "--comment",
        "ticket OPS-1",
        "--audit-log",
        pg_url,
    )
    assert run(
        "approvals", "deny", request_id, "--as", "bob", "--audit-log", pg_url, check=1
    ).stderr.startswith("capfence: error:")
    shown = json.loads(run("approvals", "show", request_id, "--format", "json", "--audit-log", pg_url).stdout)
    assert shown["status"] == "approved" and shown["decided_by"] == "alice"
    assert "OK" in run("verify", "--audit-log", pg_url).stdout.upper()


def test_suggest_reads_the_database(sqlite_log: Path, pg_url: str, tmp_path: Path) -> None:
    migrate(sqlite_log, pg_url, tmp_path)
    # an import from JSON Lines copies records, not the policy texts: name it
    in_force = tmp_path / "approvals.yaml"
    from_sqlite_log = run("suggest", "--audit-log", sqlite_log, "--policy", in_force).stdout.replace(
        str(sqlite_log), pg_url
    )
    assert run("suggest", "--audit-log", pg_url, "--policy", in_force).stdout == from_sqlite_log
    refused = run("suggest", "--audit-log", pg_url, check=1)
    assert "whose text this audit log does not have" in refused.stderr


def test_replay_reads_the_database(sqlite_log: Path, pg_url: str, tmp_path: Path) -> None:
    migrate(sqlite_log, pg_url, tmp_path)
    production = POLICIES / "shell_production.yaml"
    from_sqlite = json.loads(run("replay", sqlite_log, "--policy", production, "--format", "json").stdout)
    from_pg = json.loads(run("replay", pg_url, "--policy", production, "--format", "json").stdout)
    assert from_pg["records"] == from_sqlite["records"]


def test_unreachable_database_is_a_one_line_error(tmp_path: Path) -> None:
    from tests.support.postgres_server import free_port

    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/audit?timeout=2"
    done = run("logs", "--audit-log", url, check=1)
    assert done.stderr.startswith("capfence: error: cannot open audit log postgresql://nobody:***@127.0.0.1")
    assert "secret" not in done.stderr and done.stderr.count("\n") == 1


def test_importing_an_audit_log_copies_its_policy_texts(
    sqlite_log: Path, pg_url: str, tmp_path: Path
) -> None:
    run("import", sqlite_log, "--audit-log", pg_url)
    from_sqlite_log = run("suggest", "--audit-log", sqlite_log).stdout.replace(str(sqlite_log), pg_url)
    assert run("suggest", "--audit-log", pg_url).stdout == from_sqlite_log
