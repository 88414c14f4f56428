"""Shadow rules (``mode: shadow``): evaluated and recorded with every call, never deciding.

Recorded on real SQLite and PostgreSQL stores; shown by ``logs --shadow``, ``explain`` and ``replay``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from capfence import ActionRuntime
from capfence.cli.app import cli

POLICY = """
default: deny
deny:
  - id: no-curl
    capability: shell.execute
    mode: shadow
    command: curl
  - id: no-rm
    capability: shell.execute
    command: rm
require_approval:
  - id: big-refund
    capability: payments.refund
    mode: shadow
    args: {amount: {gt: 1000}}
allow:
  - capability: shell.execute
  - capability: payments.refund
"""


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def recorded(policy: Path, audit_location: str) -> Iterator[ActionRuntime]:
    runtime = ActionRuntime.from_policy(policy, audit_log=audit_location)
    yield runtime
    runtime.close()


def test_a_shadow_rule_is_recorded_but_does_not_decide(recorded: ActionRuntime) -> None:
    curl = recorded.evaluate("shell.execute", {"command": "curl https://example.com"}, agent_id="a")
    assert curl.action == "allow" and curl.rule == "allow[0]"
    reason = 'deny rule: capability "shell.execute", command "curl"'
    assert curl.notes == {"shadow": {"rule": "no-curl", "decision": "deny", "reason": reason}}
    # enforced rules still decide
    assert recorded.evaluate("shell.execute", {"command": "rm -rf build"}, agent_id="a").action == "deny"
    both = recorded.evaluate("shell.execute", {"command": "rm x; curl y"}, agent_id="a")
    assert both.rule == "no-rm" and both.notes is None  # enforcing no-curl would change nothing here
    assert (
        recorded.evaluate("payments.refund", {"amount": 5000}, agent_id="a").notes["shadow"]["decision"]
        == "require_approval"
    )  # type: ignore[index]


def test_logs_shadow_lists_what_enforcing_would_change(recorded: ActionRuntime, audit_location: str) -> None:
    recorded.evaluate("shell.execute", {"command": "curl https://example.com"}, agent_id="a")
    recorded.evaluate("shell.execute", {"command": "ls"}, agent_id="a")
    recorded.evaluate("payments.refund", {"amount": 5000}, agent_id="a")
    result = CliRunner().invoke(
        cli, ["logs", "--audit-log", audit_location, "--shadow"], env={"COLUMNS": "250"}
    )
    assert result.exit_code == 0, result.output
    assert "allow -> DENY" in result.output and "allow[0] -> no-curl" in result.output
    assert "allow -> APPROVAL" in result.output and "2 decision(s)" in result.output
    rows = json.loads(
        CliRunner()
        .invoke(cli, ["logs", "--audit-log", audit_location, "--shadow", "--format", "json"])
        .output
    )
    assert [r["detail"]["shadow"]["rule"] for r in rows] == ["no-curl", "big-refund"]


def test_explain_shows_the_shadow_verdict(policy: Path) -> None:
    result = CliRunner().invoke(
        cli, ["explain", "-p", str(policy), "-c", "shell.execute", "--payload", '{"command": "curl x"}']
    )
    assert result.exit_code == 0, result.output
    assert "Decision: allow by allow[0]" in result.output
    assert "no-curl  line 4    matches this call" in result.output
    assert "Enforced, no-curl would decide deny" in result.output


def test_replay_shows_what_enforcing_would_change(
    recorded: ActionRuntime, policy: Path, audit_location: str, tmp_path: Path
) -> None:
    for command in ("curl a", "curl b", "ls"):
        recorded.evaluate("shell.execute", {"command": command}, agent_id="a")
    recorded.close()
    result = CliRunner().invoke(cli, ["replay", audit_location, "--policy", str(policy)])
    assert result.exit_code == 0, result.output
    assert (
        "Shadow rules (no-curl, big-refund): enforcing them would change the decision of 2 call(s)"
        in result.output
    )
    assert "allow -> deny       2  by no-curl" in result.output
    summary = json.loads(
        CliRunner()
        .invoke(cli, ["replay", audit_location, "--policy", str(policy), "--format", "json"])
        .output
    )["summary"]
    assert summary["shadow"] == [{"recorded": "allow", "would_be": "deny", "rule": "no-curl", "calls": 2}]


def test_a_shadow_allow_rule_does_not_extend_the_catalogue(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "require_approval:\n  - capability: s\n    command: {known: false}\n"
        "allow:\n  - capability: s\n    mode: shadow\n    command: frobnicate\n"
    )
    runtime = ActionRuntime.from_policy(path, audit_log=tmp_path / "a.db")
    try:
        decision = runtime.evaluate(
            "s",
            {"command": "frobnicate"},
            agent_id="a",
        )
        assert decision.action == "require_approval"
    finally:
        runtime.close()
