"""``verdict`` (what ``replay`` decides with) gives ``evaluate``'s action and rule for every call, failures included.

The calls: the shell pack's corpus and case tables, the shell escape and everyday tables and the tldr sample
(shell pack), and the shipped example policies' calls; plus a condition whose ``explain`` raises, which must fail both the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate, verdict
from capfence.policy.spec import ConditionType
from tests.support.loading import load_policy
from tests.support.paths import DATA, PACKS, POLICIES
from tests.support.shell_escapes import ESCAPES, EVERYDAY
from tests.support.shell_pack_cases import ALLOW, APPROVE, CORPUS, DENY, Payload


def outcome(decide: Any, policy: Policy, view: CallView) -> tuple[object, ...]:
    try:
        return ("decided", *decide(policy, view))
    except Exception as exc:  # (the comparison is of failures too)
        return ("raised", type(exc).__name__, str(exc))


def both(policy: Policy, view: CallView) -> tuple[tuple[object, ...], tuple[object, ...]]:
    return outcome(action_and_rule, policy, view), outcome(verdict, policy, view)


def action_and_rule(policy: Policy, view: CallView) -> tuple[str, str | None]:
    decision = evaluate(policy, view)
    return decision.action, decision.rule


def shell_payloads() -> list[Payload]:
    found: list[Payload] = [case["payload"] for case in CORPUS]
    found += [payload for table in (*DENY.values(), *APPROVE.values()) for payload in table]
    found += [*ALLOW, *ESCAPES, *EVERYDAY]
    tldr = (DATA / "tldr_sample.jsonl").read_text(encoding="utf-8").splitlines()
    found += [json.loads(line)["command"] for line in tldr if line.strip()]
    return found


def test_the_shell_pack_decides_alike() -> None:
    policy = load_policy(PACKS / "shell.yaml")
    payloads = shell_payloads()
    assert len(payloads) > 3000
    for payload in payloads:
        args = {"command": payload} if isinstance(payload, str) else payload
        decided, quick = both(policy, CallView("shell.execute", args, "agent"))
        assert decided == quick, payload


@pytest.mark.parametrize("name", sorted(p.name for p in POLICIES.glob("*.yaml")))
def test_the_example_policies_decide_alike(name: str) -> None:
    policy = load_policy(POLICIES / name)
    calls = [
        ("shell.execute", {"command": "rm -rf /tmp/x"}),
        ("shell.execute", {"command": "ls -la"}),
        ("filesystem.read", {"path": "/etc/shadow"}),
        ("filesystem.write", {"path": "/srv/app/x", "content": "y"}),
        ("http.request", {"url": "http://169.254.169.254/latest/meta-data"}),
        ("payments.charge", {"amount": 5000, "currency": "usd"}),
        ("db.query", {"sql": "DROP TABLE users"}),
        ("unknown.capability", {}),
    ]
    for capability, args in calls:
        decided, quick = both(policy, CallView(capability, args, "agent", "production", "tool"))
        assert decided == quick, (capability, args)


def _explaining(value: object, context: object) -> Any:
    def holds(view: CallView) -> bool:
        return True

    def explain(view: CallView) -> str:
        raise RuntimeError("injected explain fault")

    holds.explain = explain  # type: ignore[attr-defined]
    return holds


def test_an_explain_that_raises_fails_both(tmp_path: Path) -> None:
    from capfence.plugins import build_registry
    from capfence.policy.loader import load_policy as load

    conditions = dict(build_registry().conditions)
    conditions["explains"] = ConditionType(
        "explains", _explaining, "holds, and its explanation raises", "explains: x"
    )
    path = tmp_path / "policy.yaml"
    path.write_text("default: deny\nallow:\n  - capability: '*'\n    explains: x\n")
    policy = load(path, conditions)
    decided, quick = both(policy, CallView("fs.read", {"path": "x"}, "agent"))
    assert decided == quick == ("raised", "RuntimeError", "injected explain fault")
