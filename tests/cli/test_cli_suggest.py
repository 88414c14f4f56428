"""``capfence suggest``: a draft policy that keeps the policy in force and never allows what it blocked."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.support.cli import observed_log, record_calls, run
from tests.support.loading import load_policy
from tests.support.paths import POLICIES


def _replay(tmp_path: Path, audit: Path | str, draft: Path) -> dict[str, int]:
    run("export", "--audit-log", audit, "-o", tmp_path / "observed.jsonl")
    out = run("replay", tmp_path / "observed.jsonl", "--policy", draft, "--format", "json")
    return json.loads(out.stdout)["summary"]  # type: ignore[no-any-return]


def test_draft_keeps_the_policy_in_force_and_allows_nothing_it_blocked(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    write = [("filesystem.write", {"path": "/srv/out.txt", "bytes": 12})]
    record_calls(audit, POLICIES / "shell_rollout.yaml", write, agent="writer", tool="save")
    # no --policy: found by the records' digest
    run("suggest", "--audit-log", audit, "-o", tmp_path / "draft.yaml")
    text = (tmp_path / "draft.yaml").read_text()
    policy = load_policy(tmp_path / "draft.yaml")
    assert policy.default == "deny"
    in_force = load_policy(POLICIES / "shell_rollout.yaml")
    kept = [r.spec for r in in_force.rules if r.section in ("deny", "require_approval")]
    assert [r.spec for r in policy.rules if r.section in ("deny", "require_approval")] == kept
    allow = [r for r in policy.rules if r.section == "allow"]
    assert all(r.capability != "net.fetch" for r in allow)  # every call blocked: no rule
    assert {"program": "git", "argv": ["status"]} in [r.spec.get("command") for r in allow]
    assert all(r.spec.get("command", {}).get("program") != "rm" for r in allow)  # denied when recorded
    assert "# filesystem.write via tool save: 1 call(s) (1 warn) by writer (1)" in text
    assert "narrowed to bytes <= 12 (the largest seen); paths under: /srv" in text
    assert "# exactly 'git status': 1 call(s) that ran" in text
    assert "agent: [prod-agent]" in text
    summary = _replay(tmp_path, audit, tmp_path / "draft.yaml")
    assert summary["looser"] == 0 and summary["stricter"] == 0 and summary["replayed"] == 9


def test_a_rule_that_would_allow_a_blocked_call_is_withdrawn(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "require_approval:\n  - capability: payments.refund\n    args: {amount: {gt: 100}}\n"
        "allow:\n  - capability: payments.refund\n    tool: refund\n"
    )
    audit = tmp_path / "audit.db"
    record_calls(
        audit,
        policy,
        [("payments.refund", {"amount": 50, "note": "a"}), ("payments.refund", {"amount": 500})],
        agent="a",
        tool="refund",
    )
    record_calls(audit, policy, [("payments.refund", {"amount": 20, "order": "x"})], agent="a", tool="other")
    text = run("suggest", "--audit-log", audit).stdout
    draft = tmp_path / "draft.yaml"
    draft.write_text(text)
    loaded = load_policy(draft)
    assert [r.spec.get("args") for r in loaded.rules if r.section == "allow"] == [{"amount": {"lte": 50}}]
    assert "require_approval:\n  # kept from the policy filed under digest" in text
    summary = _replay(tmp_path, audit, draft)
    assert summary["looser"] == 0


def test_refuses_without_the_policy_in_force(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    with sqlite3.connect(audit) as conn:
        conn.execute("DELETE FROM policies")  # an audit log written before policies were filed
    result = run("suggest", "--audit-log", audit, check=None)
    assert result.returncode == 1
    assert (
        "whose text this audit log does not have" in result.stderr
        and "give that policy with --policy POLICY" in result.stderr
    )
    ok = run("suggest", "--audit-log", audit, "--policy", POLICIES / "shell_rollout.yaml").stdout
    assert "# Policy in force: " + str(POLICIES / "shell_rollout.yaml") in ok


def test_an_edited_policy_text_is_refused(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    with sqlite3.connect(audit) as conn:
        conn.execute("UPDATE policies SET body = replace(body, 'rm -rf', 'rm -fr')")
    result = run("suggest", "--audit-log", audit, check=None)
    assert result.returncode == 1 and "does not match its digest (edited?)" in result.stderr


def test_finds_the_policy_in_force_in_postgres(tmp_path: Path, pg_url: str) -> None:
    record_calls(pg_url, POLICIES / "shell_rollout.yaml", [("shell.execute", {"command": "git status"})])
    text = run("suggest", "--audit-log", pg_url).stdout
    assert "deny:\n  # kept from the policy filed under digest" in text and "argv: [status]" in text


def test_withdrawn_rules_are_shown_commented_out_with_why(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("allow:\n  - capability: payments.refund\n    args: {amount: {gte: 40}}\n")
    audit = tmp_path / "audit.db"
    record_calls(
        audit,
        policy,
        [("payments.refund", {"amount": 50}), ("payments.refund", {"amount": 30})],
        agent="a",
        tool="refund",
    )
    text = run("suggest", "--audit-log", audit).stdout
    assert (
        "# withdrawn: it would allow 1 distinct call(s) the policy in force blocked, e.g. payments.refund"
        in text
    )
    assert "  # - id: suggested-1" in text
    assert [r for r in load_policy_text(tmp_path, text).rules if r.section == "allow"] == []


def load_policy_text(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "draft.yaml"
    path.write_text(text)
    return load_policy(path)
