"""Policy validation: every error names the file, line and column, the key path, and a did-you-mean where one helps.

A policy that cannot load raises :class:`PolicyError` (it never loads as
something that allows); every problem in a file is collected, not just the first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from capfence import ActionRuntime, CapFenceError, PolicyError
from capfence.call.view import CallView
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy
from tests.support.paths import POLICIES

# (yaml, line, column, key path, message fragment, hint fragment or None)
CASES = [
    pytest.param("deny:\n  - capability: [unclosed\n", 3, 1, "", "invalid YAML", None, id="malformed-flow"),
    pytest.param(
        "deny:\n  - capability: a\n   bad: indent\n", 3, 4, "", "invalid YAML", None, id="malformed-indent"
    ),
    pytest.param("deny:\n\t- capability: a\n", 2, 1, "", "invalid YAML", None, id="malformed-tab"),
    pytest.param(
        "denny:\n  - capability: a\n",
        1,
        1,
        "denny",
        "unknown top-level key",
        "did you mean 'deny'?",
        id="unknown-top-level-key",
    ),
    pytest.param(
        "allow: []\nallowed:\n  - capability: a\n",
        2,
        1,
        "allowed",
        "unknown top-level key",
        "did you mean 'allow'?",
        id="unknown-section",
    ),
    pytest.param(
        "require_aproval: []\n",
        1,
        1,
        "require_aproval",
        "unknown top-level key",
        "did you mean 'require_approval'?",
        id="unknown-section-near-miss",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    contians: x\n",
        3,
        5,
        "deny[0].contians",
        "unknown rule key",
        "did you mean 'contains'?",
        id="unknown-rule-key",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    contains: 5\n",
        3,
        5,
        "deny[0].contains",
        "got int",
        'e.g. "rm -rf"',
        id="contains-int",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    contains: []\n",
        3,
        5,
        "deny[0].contains",
        "must not be an empty list",
        None,
        id="contains-empty-list",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    contains: [x, 3]\n",
        3,
        19,
        "deny[0].contains[1]",
        "got int",
        None,
        id="contains-list-item",
    ),
    pytest.param(
        'deny:\n  - capability: a\n    args: {amount: {gt: "1000"}}\n',
        3,
        21,
        "deny[0].args.amount.gt",
        "gt must be a number, got str",
        "write gt: 1000 without quotes",
        id="args-quoted-number",
    ),
    pytest.param(
        'deny:\n  - capability: a\n    args:\n      amount:\n        gt: "1000"\n',
        5,
        9,
        "deny[0].args.amount.gt",
        "must be a number",
        None,
        id="args-quoted-number-block-style",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    args: {amount: {gtt: 5}}\n",
        3,
        21,
        "deny[0].args.amount.gtt",
        "unknown key 'gtt'",
        "did you mean 'gt'?",
        id="args-unknown-operator",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    args: {amount: 5}\n",
        3,
        12,
        "deny[0].args.amount",
        "must be a mapping",
        None,
        id="args-not-mapping",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    args: {amount: {}}\n",
        3,
        12,
        "deny[0].args.amount",
        "needs a comparison",
        None,
        id="args-empty",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    path: {undr: [/etc]}\n",
        3,
        12,
        "deny[0].path.undr",
        "unknown key 'undr'",
        "did you mean 'under'?",
        id="path-unknown-key",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    path: {case_sensitive: false}\n",
        3,
        5,
        "deny[0].path",
        "at least one of under",
        None,
        id="path-no-test",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    agent: 5\n",
        3,
        5,
        "deny[0].agent",
        "agent must be a non-empty string",
        None,
        id="agent-int",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    environment: {x: 1}\n",
        3,
        5,
        "deny[0].environment",
        "got dict",
        None,
        id="environment-dict",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    tool: ['run_[']\n",
        3,
        5,
        "deny[0].tool",
        "unclosed '['",
        None,
        id="tool-bad-glob",
    ),
    pytest.param(
        "deny:\n  - {}\n",
        2,
        5,
        "deny[0]",
        "empty rule",
        "a rule needs at least 'capability:'",
        id="empty-rule",
    ),
    pytest.param(
        "deny:\n  -\n", 2, 4, "deny[0]", "a rule must be a mapping, got NoneType", None, id="null-rule"
    ),
    pytest.param(
        "deny:\n  - shell.execute\n",
        2,
        5,
        "deny[0]",
        "a rule must be a mapping, got str",
        "write '- capability: shell.execute'",
        id="bare-string-rule",
    ),
    pytest.param(
        "deny:\n  - contains: x\n",
        2,
        5,
        "deny[0]",
        "rule has no capability",
        "capability: shell.execute",
        id="missing-capability",
    ),
    pytest.param(
        "deny:\n  capability: a\n",
        1,
        1,
        "deny",
        "a section must be a list of rules",
        "- capability: ...",
        id="section-not-list",
    ),
    pytest.param(
        "- capability: a\n", 1, 1, "", "a policy must be a mapping", "start with 'deny:'", id="top-level-list"
    ),
    pytest.param(
        "deny:\n  - capability: shell.[\n",
        2,
        5,
        "deny[0].capability",
        "bad glob 'shell.['",
        "shell.[ab]*",
        id="bad-glob",
    ),
    pytest.param(
        "deny:\n  - capability: 'shell execute'\n",
        2,
        5,
        "deny[0].capability",
        "characters a name cannot have",
        None,
        id="capability-bad-characters",
    ),
    pytest.param(
        "deny:\n  - capability: 5\n",
        2,
        5,
        "deny[0].capability",
        "must be a string",
        None,
        id="capability-int",
    ),
    pytest.param(
        "deny:\n  - capability: a\ndeny:\n  - capability: b\n",
        3,
        1,
        "deny",
        "duplicate key",
        None,
        id="duplicate-top-level-key",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    capability: b\n",
        3,
        5,
        "deny[0].capability",
        "duplicate key",
        None,
        id="duplicate-rule-key",
    ),
    pytest.param(
        "deny:\n  - id: x\n    capability: a\n  - id: x\n    capability: b\n",
        4,
        5,
        "deny[1].id",
        "duplicate rule id 'x'",
        None,
        id="duplicate-rule-id",
    ),
    pytest.param(
        "deny:\n  - id: 5\n    capability: a\n",
        2,
        5,
        "deny[0].id",
        "id must be a non-empty string",
        None,
        id="id-not-string",
    ),
    pytest.param(
        "deny:\n  - capability: a\n    reason: [1]\n",
        3,
        5,
        "deny[0].reason",
        "reason must be a string",
        None,
        id="reason-not-string",
    ),
    pytest.param(
        "default: allow\n",
        1,
        1,
        "default",
        "default must be deny or warn, got 'allow'",
        "capability: '*'",
        id="default-allow",
    ),
    pytest.param(
        "default: maybe\n",
        1,
        1,
        "default",
        "default must be deny or warn",
        "use deny or warn",
        id="default-unknown",
    ),
    pytest.param(
        "redact: 5\n", 1, 1, "redact", "expected a string or a list of strings", None, id="redact-int"
    ),
    pytest.param(
        "max_payload_bytes: big\n",
        1,
        1,
        "max_payload_bytes",
        "integer >= 256",
        None,
        id="max-payload-bytes-type",
    ),
    pytest.param("extends: 5\n", 1, 1, "extends", "expected a string", None, id="extends-int"),
]


@pytest.mark.parametrize(("text", "line", "column", "key", "message", "hint"), CASES)
def test_validation_error_is_located(
    text: str,
    line: int,
    column: int,
    key: str,
    message: str,
    hint: str | None,
    write_policy: Callable[..., Path],
) -> None:
    path = write_policy(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    error = caught.value
    first = error.problems[0]
    assert (first.path, first.line, first.column, first.key) == (str(path), line, column, key), str(first)
    assert message in first.message
    if hint is not None:
        assert first.hint is not None and hint in first.hint
    text_form = str(error)
    assert text_form.startswith(f"{path}:{line}:{column}: ")
    assert message in text_form
    if key:
        assert f": {key}: " in text_form
    assert (error.path, error.line, error.column, error.key) == (
        first.path,
        first.line,
        first.column,
        first.key,
    )
    assert isinstance(error, CapFenceError)


def test_every_problem_is_collected(write_policy: Callable[..., Path]) -> None:
    path = write_policy("""
        denny: []
        deny:
          - capability: a
            contians: x
          - capability: b
            contains: 5
          - capability: 'c.['
        allow:
          - shell.execute
    """)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    located = [(p.line, p.key) for p in caught.value.problems]
    assert located == [
        (1, "denny"),
        (4, "deny[0].contians"),
        (6, "deny[1].contains"),
        (7, "deny[2].capability"),
        (9, "allow[0]"),
    ]
    assert "(and 4 more problem(s))" in str(caught.value)
    assert all(p.path == str(path) for p in caught.value.problems)


def test_misspelled_capability_gets_both_problems(write_policy: Callable[..., Path]) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy("warn:\n  - capability: a\n  - capabilty: b\n"))
    found = [(p.line, p.key, p.message, p.hint) for p in caught.value.problems]
    assert (3, "warn[1].capabilty", "unknown rule key", "did you mean 'capability'?") in found
    assert any(key == "warn[1]" and "no capability" in message for _, key, message, _ in found)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found") as caught:
        load_policy(tmp_path / "nope.yaml")
    assert caught.value.path == str(tmp_path / "nope.yaml")


def test_invalid_policy_never_builds_a_runtime(write_policy: Callable[..., Path], tmp_path: Path) -> None:
    """An invalid policy raises; there is no runtime that could allow something."""
    with pytest.raises(PolicyError, match="contians"):
        ActionRuntime.from_policy(
            write_policy("allow:\n  - capability: '*'\n    contians: x\n"), audit_log=tmp_path / "a.db"
        )
    assert not (tmp_path / "a.db").exists()


# --- extends ------------------------------------------------------------------------


def test_extends_is_relative_to_the_including_file(
    write_policy: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_policy("deny:\n  - capability: net.*\n", "shared/base.yaml")
    root = write_policy("extends: ../shared/base.yaml\nallow:\n  - capability: '*'\n", "app/policy.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    policy = load_policy(Path("..") / "app" / "policy.yaml")
    assert [r.id for r in policy.rules] == ["allow[0]", "base:deny[0]"]
    assert policy.files == (root.resolve(), (tmp_path / "shared/base.yaml").resolve())
    assert evaluate(policy, CallView("net.get", {}, "a")).rule == "base:deny[0]"


def test_extends_list_and_settings_layering(write_policy: Callable[..., Path]) -> None:
    write_policy(
        "default: warn\nredact: [pin]\nmax_payload_bytes: 1024\ndeny:\n  - capability: a\n", "one.yaml"
    )
    write_policy("redact: [otp]\ndeny:\n  - capability: b\n", "two.yaml")
    policy = load_policy(write_policy("extends: [one.yaml, two.yaml]\nmax_payload_bytes: 4096\n"))
    assert [r.id for r in policy.rules] == ["one:deny[0]", "two:deny[0]"]
    assert policy.default == "warn"  # from the base, since the including file does not say
    assert policy.max_payload_bytes == 4096  # the including file wins
    assert {"pin", "otp", "password"} <= policy.redact  # merged, defaults kept


def test_extends_missing_file(write_policy: Callable[..., Path]) -> None:
    path = write_policy("deny: []\nextends:\n  - base.yaml\n  - gone.yaml\n")
    write_policy("deny: []\n", "base.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.key) == (str(path), 4, "extends[1]")
    assert "'gone.yaml' not found" in problem.message


@pytest.mark.parametrize("self_cycle", [True, False], ids=["self", "two-files"])
def test_extends_cycle(write_policy: Callable[..., Path], self_cycle: bool) -> None:
    if self_cycle:
        path = write_policy("deny: []\nextends: policy.yaml\n")
        culprit = path
    else:
        path = write_policy("extends: other.yaml\n")
        culprit = write_policy("allow: []\nextends: policy.yaml\n", "other.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.column, problem.key) == (
        str(culprit.resolve()),
        2,
        1,
        "extends",
    )
    assert "extends cycle" in problem.message


def test_extends_diamond_layers_shared_base_once(write_policy: Callable[..., Path]) -> None:
    """A -> (B, C) -> D is not a cycle, and D's explicit ids are not duplicates of themselves."""
    write_policy("deny:\n  - id: no-curl\n    capability: shell.execute\n    contains: curl\n", "d.yaml")
    write_policy("extends: d.yaml\n", "b.yaml")
    write_policy("extends: d.yaml\n", "c.yaml")
    policy = load_policy(write_policy("extends: [b.yaml, c.yaml]\n"))
    assert [r.id for r in policy.rules] == ["no-curl"]


def test_problem_in_extended_file_names_that_file(write_policy: Callable[..., Path]) -> None:
    base = write_policy("warn:\n  - capability: a\n    contans: x\n", "base.yaml")
    with pytest.raises(PolicyError) as caught:
        load_policy(write_policy("extends: base.yaml\n"))
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.key, problem.hint) == (
        str(base.resolve()),
        3,
        "warn[0].contans",
        "did you mean 'contains'?",
    )


# --- the shipped policies -------------------------------------------------------------

ROLLOUT = """\
# policies/shell_rollout.yaml
deny:
  - capability: shell.execute
    contains: "rm -rf" # Block catastrophic commands immediately
require_approval: []
warn:
  - capability: shell.execute # Log all execution context without blocking
  - capability: filesystem.write
allow:
  - capability: filesystem.read
"""

PRODUCTION = """\
# policies/shell_production.yaml
deny:
  - capability: shell.execute
    contains: "rm -rf"
  - capability: shell.execute
    contains: "curl"
require_approval:
  - capability: shell.execute
    contains: "systemctl"
allow:
  - capability: shell.execute
  - capability: filesystem.read
"""


def test_shipped_policies_are_exactly_the_walkthrough() -> None:
    assert (POLICIES / "shell_rollout.yaml").read_text() == ROLLOUT
    assert (POLICIES / "shell_production.yaml").read_text() == PRODUCTION


@pytest.mark.parametrize(
    ("name", "capability", "command", "action", "rule"),
    [
        ("shell_rollout.yaml", "shell.execute", "ls -la", "warn", "warn[0]"),
        ("shell_rollout.yaml", "shell.execute", "rm -rf /tmp/x", "deny", "deny[0]"),
        ("shell_rollout.yaml", "filesystem.write", "", "warn", "warn[1]"),
        ("shell_rollout.yaml", "filesystem.read", "", "allow", "allow[0]"),
        ("shell_rollout.yaml", "network.get", "", "deny", None),
        ("shell_production.yaml", "shell.execute", "ls -la", "allow", "allow[0]"),
        ("shell_production.yaml", "shell.execute", "curl http://x", "deny", "deny[1]"),
        (
            "shell_production.yaml",
            "shell.execute",
            "sudo systemctl restart app",
            "require_approval",
            "require_approval[0]",
        ),
        ("shell_production.yaml", "filesystem.write", "", "deny", None),
    ],
)
def test_shipped_policies_load_and_decide(
    name: str, capability: str, command: str, action: str, rule: str | None
) -> None:
    policy = load_policy(POLICIES / name)
    decision = evaluate(policy, CallView(capability, {"command": command} if command else {}, "prod-agent"))
    assert (decision.action, decision.rule) == (action, rule)
