"""Policy tests: rules' ``examples:`` (checked when the policy loads and by ``capfence check``) and ``capfence test``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from capfence.cli.app import cli
from capfence.errors import PolicyError
from tests.support.loading import load_policy

POLICY = """\
default: deny
deny:
  - id: no-secrets
    capability: "*"
    reads: ["**/.env"]
    examples:
      match:
        - {capability: shell.execute, args: {command: "grep KEY .env"}}
        - {capability: file.read, args: {path: .env}}
      no_match:
        - {capability: shell.execute, args: {command: "cat README.md"}}
allow:
  - id: shell
    capability: shell.execute
"""


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_examples_that_hold_load(tmp_path: Path) -> None:
    assert load_policy(write(tmp_path, POLICY)).rule("no-secrets") is not None
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "policy.yaml")])
    assert result.exit_code == 0 and "3 rule example(s) checked" in result.output


def test_an_example_the_rule_gets_wrong_fails_to_load_with_its_line(tmp_path: Path) -> None:
    text = POLICY.replace('"cat README.md"', '"cat config/.env"')
    with pytest.raises(PolicyError) as info:
        load_policy(write(tmp_path, text))
    [problem] = info.value.problems
    assert problem.line == 11 and problem.key == "deny[0].examples.no_match[0]"
    assert problem.message == "example call matches rule no-secrets (it should not match)"
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "policy.yaml")])
    assert result.exit_code == 1 and "policy.yaml:11:" in result.output


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ("{match: [{args: {command: ls}}]}", "the call needs a capability"),
        ("{matches: []}", "unknown key 'matches' in examples"),
        ("{match: [{capability: x, argz: {}}]}", "unknown key 'argz' in a call"),
        ("{match: {capability: x}}", "examples.match must be a list of calls"),
    ],
)
def test_malformed_examples_are_reported(tmp_path: Path, examples: str, message: str) -> None:
    path = write(tmp_path, f"deny:\n  - capability: '*'\n    contains: x\n    examples: {examples}\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert message in info.value.problems[0].message and info.value.problems[0].line == 4


CASES = """\
- name: no .env through grep
  capability: shell.execute
  args: {command: "grep KEY .env"}
  expect: deny
  rule: no-secrets
- capability: shell.execute
  args: {command: ls}
  expect: allow
  rule: shell
- capability: http.get
  args: {url: "https://example.com"}
  expect: deny
  rule: null
"""


def test_capfence_test_passes(tmp_path: Path) -> None:
    policy = write(tmp_path, POLICY)
    result = CliRunner().invoke(cli, ["test", str(policy), str(write(tmp_path, CASES, "cases.yaml"))])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(
        "3 passed, 0 failed (3 case(s) in " + str(tmp_path / "cases.yaml") + ")"
    )


def test_capfence_test_prints_a_diff_and_fails(tmp_path: Path) -> None:
    policy = write(tmp_path, POLICY)
    cases = write(
        tmp_path, CASES.replace("expect: allow\n  rule: shell", "expect: deny\n  rule: shell"), "cases.yaml"
    )
    result = CliRunner().invoke(cli, ["test", str(policy), str(cases)])
    assert result.exit_code == 1
    assert f'FAIL {cases}:6  shell.execute {{"command": "ls"}}' in result.output
    assert "  expected: deny by shell\n  got:      allow by shell (" in result.output
    assert "2 passed, 1 failed" in result.output


def test_capfence_test_reads_jsonl_and_reports_bad_lines(tmp_path: Path) -> None:
    policy = write(tmp_path, POLICY)
    lines = [
        json.dumps(
            {"capability": "file.read", "args": {"path": ".env"}, "expect": "deny", "rule": "no-secrets"}
        ),
        "{not json",
        json.dumps({"capability": "x", "expect": "maybe"}),
    ]
    cases = write(tmp_path, "\n".join(lines) + "\n", "cases.jsonl")
    result = CliRunner().invoke(cli, ["test", str(policy), str(cases), "--format", "json"])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert (document["passed"], document["failed"]) == (1, 2)
    assert document["results"][2]["problem"].startswith(
        "expect must be one of deny, require_approval, warn, allow"
    )
