"""``capfence suggest``: a draft policy from observed traffic that denies nothing that ran."""

from __future__ import annotations

import json
from pathlib import Path

from capfence.policy.loader import load_policy
from test_cli_support import POLICIES, observed_log, record_calls, run


def test_draft_is_valid_and_denies_nothing_that_ran(tmp_path: Path) -> None:
    audit = observed_log(tmp_path)
    write = [("filesystem.write", {"path": "/srv/out.txt", "bytes": 12})]
    record_calls(audit, POLICIES / "shell_rollout.yaml", write, agent="writer", tool="save")
    run("suggest", "--audit-log", audit, "--policy", POLICIES / "shell_rollout.yaml", "-o", tmp_path / "draft.yaml")
    text = (tmp_path / "draft.yaml").read_text()
    policy = load_policy(tmp_path / "draft.yaml")
    assert policy.default == "deny"
    assert [(r.section, r.capability, r.spec.get("tool")) for r in policy.rules] == [
        ("deny", "shell.execute", None), ("allow", "filesystem.read", None), ("allow", "filesystem.write", "save"),
        ("allow", "shell.execute", "run_shell")]
    assert "# shell.execute via tool run_shell: 6 call(s) (5 warn, 1 deny) by prod-agent (6)" in text
    assert "command programs: ls (1), cat (1), rm (1)" in text
    assert "bytes range: 12 .. 12" in text
    assert "# every call was blocked when recorded; uncomment to allow:\n  # - capability: \"net.fetch\"" in text
    run("export", "--audit-log", audit, "-o", tmp_path / "observed.jsonl")
    replay = json.loads(run("replay", tmp_path / "observed.jsonl", "--policy", tmp_path / "draft.yaml", "--format", "json",
                            "--fail-on", "stricter").stdout)
    assert replay["summary"]["stricter"] == 0 and replay["summary"]["replayed"] == 9


def test_stdout_and_filters_without_policy(tmp_path: Path) -> None:
    out = run("suggest", "--audit-log", observed_log(tmp_path), "--capability", "filesystem.*").stdout
    assert "no --policy given" in out and "shell.execute" not in out.split("allow:", 1)[1]
    assert "deny: []" in out
