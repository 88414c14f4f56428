"""``capfence check``: every error with file:line, a summary line per file, lint warnings, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import run
from tests.support.paths import POLICIES


def test_shipped_policies_are_valid() -> None:
    done = run("check", POLICIES / "shell_rollout.yaml", POLICIES / "shell_production.yaml")
    assert (
        f"{POLICIES / 'shell_production.yaml'}: OK (deny 2, require_approval 1, warn 0, allow 2; default deny)"
        in done.stdout
    )
    assert (
        f"{POLICIES / 'shell_rollout.yaml'}: OK (deny 1, require_approval 0, warn 2, allow 1; default deny)"
        in done.stdout
    )


def test_every_error_with_its_line(tmp_path: Path, write_policy) -> None:
    bad = write_policy("""
        deny:
          - capability: shell.execute
            contans: "rm -rf"
          - capabilty: shell.execute
        allow:
          - capability: shell.execute
            args: {amount: {gt: "1000"}}
        defualt: warn
    """)
    done = run("check", bad, check=1)
    lines = done.stdout.splitlines()
    assert f"{bad}:3:5: error: deny[0].contans: unknown rule key (did you mean 'contains'?)" in lines
    assert any(line.startswith(f"{bad}:4:5: error: deny[1]") for line in lines)
    assert any(line.startswith(f"{bad}:7:") and "args.amount.gt" in line for line in lines)
    assert any(line.startswith(f"{bad}:8:1: error: defualt: unknown top-level key") for line in lines)
    assert lines[-1] == f"{bad}: INVALID, {len(lines) - 1} error(s)"


def test_lint_warnings(tmp_path: Path, write_policy) -> None:
    policy = write_policy("""
        deny:
          - capability: "shell.*"
          - capability: shell.execute
            contains: "rm -rf"
          - capability: payments.refund
            args: {amount: {gt: 100, lt: 10}}
          - capability: files.write
            path: {under: /etc/ssh, not_under: /etc}
        allow:
          - capability: files.read
    """)
    done = run("check", policy)
    out = done.stdout
    assert (
        f"{policy}:3: warning: deny[1]: never decides: deny[0] (deny, line 2) matches every call it matches"
        in out
    )
    assert (
        "[shadowed]" in out
        and "[never-matches]" in out
        and "[contains-on-shell]" in out
        and "[no-default]" in out
    )
    assert "deny[2]: can never match: args.amount" in out and "deny[3]: can never match: path" in out
    assert "'rm -fr'" in out and "command:" in out
    assert (
        out.splitlines()[-1]
        == f"{policy}: OK (deny 4, require_approval 0, warn 0, allow 1; default deny), 5 warning(s)"
    )
    run("check", "--strict", policy, check=1)


def test_clean_policy_has_no_warnings(write_policy) -> None:
    policy = write_policy("default: deny\nallow:\n  - capability: files.read\n    path: {under: /srv}\n")
    expected = f"{policy}: OK (deny 0, require_approval 0, warn 0, allow 1; default deny), 0 warning(s)\n"
    assert run("check", "--strict", policy).stdout == expected


def test_several_files_and_json(tmp_path: Path, write_policy) -> None:
    good = write_policy("default: warn\nwarn:\n  - capability: '*'\n", "good.yaml")
    bad = write_policy("deny: 3\n", "bad.yaml")
    done = run("check", good, bad, check=1)
    assert done.stdout.splitlines()[-1] == f"{bad}: INVALID, 1 error(s)" and f"{good}: OK" in done.stdout
    document = json.loads(run("check", good, bad, "--format", "json", check=1).stdout)
    assert [f["valid"] for f in document["files"]] == [True, False]
    assert document["files"][1]["errors"][0]["line"] == 1


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    assert "does not exist" in run("check", tmp_path / "nope.yaml", check=2).stderr
