"""Shadow rules (``mode: shadow``): evaluated on live traffic and recorded, never deciding.

A shadow rule is left out of the policy's index, so the decision is the other rules'. For a policy that has shadow
rules, the runtime also evaluates :attr:`Policy.enforced` (the same policy with them enforced); when a shadow rule
decides there, and decides otherwise than the policy in force, what it would have decided is recorded with the call,
in the audit record's ``detail``::

    "shadow": {"rule": "no-curl", "decision": "deny", "reason": "..."}

so ``capfence logs --shadow`` lists exactly the calls whose decision enforcing it would change (and those where it
matched but a stronger rule decided anyway are not listed: enforcing would change nothing). ``capfence replay`` and
``explain`` evaluate the enforced policy the same way. An exception in a shadow rule is recorded as
``{"error": ...}`` and never changes the real decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence.policy.engine import evaluate

if TYPE_CHECKING:
    from capfence.call.decision import Decision
    from capfence.call.view import CallView
    from capfence.policy.compiled import Policy


def shadow_verdict(policy: Policy, view: CallView, actual: str | None = None) -> dict[str, object] | None:
    """What a shadow rule of ``policy`` would decide for the call, when one would decide it (and, given the ``actual``
    decision, decide otherwise); else ``None``."""
    enforced = policy.enforced
    if enforced is None:
        return None
    try:
        would = evaluate(enforced, view)
    except Exception as exc:  # noqa: BLE001 - a shadow rule never decides, not even by failing
        return {"error": f"{type(exc).__name__}: {exc}"}
    if (
        would.rule is None
        or would.action == actual
        or not any(rule.id == would.rule for rule in policy.shadow)
    ):
        return None
    return {"rule": would.rule, "decision": would.action, "reason": would.reason}


def with_shadow(policy: Policy, view: CallView, decision: Decision) -> Decision:
    """``decision``, with what the shadow rules would decide in its notes."""
    found = shadow_verdict(policy, view, decision.action)
    if found is None:
        return decision
    return decision.with_notes(shadow=found)
