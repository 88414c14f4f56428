"""One answer by every route: the shell policies decide each corpus command alike with the matcher's shortcuts on and off.

The shortcuts (``capfence.policy.shell.shortcuts``: the plain-words split, the sketch and what it knows safe, the caches
and the rule index) must give what the full route gives: lexer, parser and analyzer, every ``command:`` rule checked.
A shortcut that allowed what the full route holds or denies would be a hole, so for every command of the repository's
corpora (``tests/data/*.jsonl``, the escape cases of ``tests/support/shell_escapes.py``) the decision, its rule and its
reason are compared, for every policy of the repository that has ``command:`` rules: never seen (cold caches), seen
before (warm), and with the shortcuts off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from capfence.call.view import CallView
from capfence.policy.engine import evaluate
from capfence.policy.shell import shortcuts
from tests.support.loading import load_policy
from tests.support.paths import ROOT
from tests.support.shell_escapes import ESCAPES, EVERYDAY

DATA = ROOT / "tests" / "data"
POLICIES = sorted(
    path
    for path in ROOT.glob("policies/**/*.yaml")
    if "command:" in path.read_text(encoding="utf-8") or "packs/shell" in path.read_text(encoding="utf-8")
)
EXTENDED = """
extends: {pack}
allow:
  - capability: "shell.*"
    command: {{program: terraform, subcommand: [plan, validate]}}
  - capability: "shell.*"
    command: {{program: [make, cargo], args: [test, build]}}
"""
"""The pack with allow rules that extend its catalogue (``known:`` then asks them too)."""

Call = tuple[str, dict[str, Any]]
"""A capability and a payload."""
Decided = tuple[str, str | None, str]
"""A decision's action, rule and reason."""


def corpus() -> list[Call]:
    """Every call of the corpora: each JSON line's ``payload`` (with its ``capability``) or ``command``, and the escapes."""
    calls: list[Call] = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                case = json.loads(line)
                payload = case["payload"] if "payload" in case else {"command": case["command"]}
                calls.append((case.get("capability", "shell.execute"), payload))
    calls.extend(("shell.execute", {"command": command}) for command in [*ESCAPES, *EVERYDAY])
    return calls


CALLS = corpus()


def decide_all(policy_path: Path, calls: list[Call]) -> list[Decided]:
    policy = load_policy(policy_path)
    decided = []
    for capability, payload in calls:
        decision = evaluate(policy, CallView(capability=capability, payload=payload, agent_id="corpus"))
        decided.append((decision.action, decision.rule, decision.reason))
    return decided


@pytest.fixture
def restore_shortcuts() -> Iterator[None]:
    before = shortcuts.ENABLED
    yield
    shortcuts.set_enabled(before)


def test_the_corpora_are_there() -> None:
    # (the comparison below must not pass on nothing)
    assert len(CALLS) > 1000 and len(POLICIES) >= 3
    assert ROOT / "policies" / "packs" / "shell.yaml" in POLICIES


@pytest.mark.shortcuts
@pytest.mark.parametrize("name", [*(str(p.relative_to(ROOT)) for p in POLICIES), "extended"])
def test_every_route_decides_alike(name: str, tmp_path: Path, restore_shortcuts: None) -> None:
    policy = ROOT / name
    if name == "extended":
        policy = tmp_path / "extended.yaml"
        policy.write_text(EXTENDED.format(pack=ROOT / "policies" / "packs" / "shell.yaml"), encoding="utf-8")
    shortcuts.set_enabled(True)
    cold = decide_all(policy, CALLS)
    warm = decide_all(policy, CALLS)
    shortcuts.set_enabled(False)
    full = decide_all(policy, CALLS)
    differ = [(call, c, f) for call, c, f in zip(CALLS, cold, full, strict=True) if c != f]
    assert differ == [], f"{len(differ)} calls decided differently by the shortcuts: {differ[:5]}"
    assert warm == cold
    assert len({action for action, _, _ in full}) >= 2  # (the corpus is decided, not all defaulted)


def test_switching_off_is_read_from_the_environment(tmp_path: Path) -> None:
    """``CAPFENCE_SHELL_SHORTCUTS=off`` turns them off for the whole process (read once, at import)."""
    import subprocess
    import sys

    code = "from capfence.policy.shell import shortcuts; print(shortcuts.ENABLED)"
    for value, expected in [("off", "False"), ("0", "False"), ("OFF", "False"), ("on", "True"), ("", "True")]:
        env = {"PATH": "", "PYTHONPATH": str(ROOT / "capfence_core"), shortcuts.ENV: value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected, value
