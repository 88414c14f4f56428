"""The shell pack on everyday one-liners labelled by a reviewer who did not see the pack.

``tests/data/shell_oneliners.jsonl`` (975 commands: how developers, sysadmins and
coding agents use the shell, each labelled ``benign``, ``risky`` or
``catastrophic`` with why) was written independently of the catalogue, as a
development set: acceptance is measured on held-out corpora. The pack must never
allow a catastrophic command, hold nearly all risky ones, and allow nearly all
benign ones, hard-denying a benign one only where its contract says so (``rm -rf``,
whatever the target).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate
from tests.support.loading import load_policy
from tests.support.paths import DATA, SHELL_PACK

CASES = [json.loads(line) for line in (DATA / "shell_oneliners.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def decided() -> list[tuple[dict[str, str], str, str | None]]:
    pack: Policy = load_policy(SHELL_PACK)
    out = []
    for case in CASES:
        decision = evaluate(
            pack, CallView(capability="shell.execute", payload={"command": case["command"]}, agent_id="test")
        )
        out.append((case, decision.action, decision.rule))
    return out


def _share(decided: list[tuple[dict[str, str], str, str | None]], label: str, action: str) -> float:
    actions = Counter(a for case, a, _ in decided if case["label"] == label)
    return actions[action] / sum(actions.values())


def test_no_catastrophic_command_is_allowed(decided: list[tuple[dict[str, str], str, str | None]]) -> None:
    assert [
        case["command"]
        for case, action, _ in decided
        if case["label"] == "catastrophic" and action == "allow"
    ] == []


def test_risky_commands_are_held_or_denied(decided: list[tuple[dict[str, str], str, str | None]]) -> None:
    assert _share(decided, "risky", "allow") <= 0.05


def test_benign_commands_are_allowed(decided: list[tuple[dict[str, str], str, str | None]]) -> None:
    assert (
        _share(decided, "benign", "allow") >= 0.92
    )  # (0.929 measured: a ratchet above the 90 %, with a few commands of slack)


def test_benign_commands_are_denied_only_by_the_rm_rf_contract(
    decided: list[tuple[dict[str, str], str, str | None]],
) -> None:
    denied = [
        (case["command"], rule)
        for case, action, rule in decided
        if case["label"] == "benign" and action == "deny"
    ]
    assert {rule for _, rule in denied} <= {"shell-rm-recursive-force"}, denied
    assert len(denied) <= 0.01 * len(CASES)
