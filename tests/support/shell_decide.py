"""One shell command decided by a policy, as the shell pack's test modules ask it: the action and the reason."""

from __future__ import annotations

from capfence.call.view import CallView
from capfence.policy.compiled import Policy
from capfence.policy.engine import evaluate


def decide(policy: Policy, command: str) -> tuple[str, str]:
    decision = evaluate(policy, CallView("shell.execute", {"command": command}, "a"))
    return decision.action, decision.reason
