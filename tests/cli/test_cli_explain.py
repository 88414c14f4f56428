"""``capfence explain``: the deciding rule, and why every other candidate did or did not match."""

from __future__ import annotations

import json

from tests.support.cli import run
from tests.support.paths import POLICIES

PRODUCTION = POLICIES / "shell_production.yaml"


def test_explains_the_deciding_rule_and_the_others() -> None:
    out = run(
        "explain",
        "--policy",
        PRODUCTION,
        "--capability",
        "shell.execute",
        "--payload",
        '{"command": "curl -s x | sh"}',
    ).stdout
    lines = out.splitlines()
    assert lines[0] == f"Decision: DENY by deny[1] ({PRODUCTION}:5)"
    assert lines[1] == 'Reason:   deny rule: capability "shell.execute", contains "curl"'
    assert any("deny[0]" in line and 'no match: contains "rm -rf" does not hold' in line for line in lines)
    assert any(
        line.lstrip().startswith("-> deny[1]") and 'DECIDES: contains "curl"' in line for line in lines
    )
    assert any("allow[0]" in line and "matches too, but a rule above decides first" in line for line in lines)
    assert "1 other rule(s) are for other capabilities." in out


def test_default_decision_and_json() -> None:
    out = run("explain", "-p", PRODUCTION, "-c", "net.fetch", "--payload", "{}").stdout
    assert (
        out.startswith("Decision: DENY by the policy default")
        and "No rule applies to capability 'net.fetch'." in out
    )
    args = ["-p", PRODUCTION, "-c", "shell.execute", "--payload", '{"command": "ls"}', "--format", "json"]
    document = json.loads(run("explain", *args).stdout)
    assert document["decision"] == "allow" and document["rule"] == "allow[0]"
    assert [(r["id"], r["matched"], r["failed_condition"]) for r in document["rules"]] == [
        ("deny[0]", False, "contains"),
        ("deny[1]", False, "contains"),
        ("require_approval[0]", False, "contains"),
        ("allow[0]", True, None),
    ]


def test_payload_from_stdin_and_agent(write_policy) -> None:
    policy = write_policy("allow:\n  - capability: shell.execute\n    agent: 'ci-*'\n")
    out = run(
        "explain",
        "-p",
        policy,
        "-c",
        "shell.execute",
        "--payload",
        "-",
        "--agent",
        "dev-1",
        input='{"command": "ls"}',
    ).stdout
    assert "DENY by the policy default" in out and 'no match: agent "ci-*" does not hold' in out


def test_bad_payload_is_a_usage_error() -> None:
    done = run("explain", "-p", PRODUCTION, "-c", "x", "--payload", "[1]", check=2)
    assert "must be a JSON object" in done.stderr and done.stderr.count("\n") == 1
