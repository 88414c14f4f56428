"""The evaluator: a pure function of (compiled policy, call) -> Decision.

Precedence is deny > require_approval > warn > allow > default; within a
section the first matching rule wins. :meth:`Policy.candidates` already
returns the rules for a capability in that order (its :class:`~capfence.policy.plan.Plan`), so the first rule that
matches is the decision. A rule whose prefilter rules it out (a ``command:``
rule naming a program the call does not run) is skipped unchecked.
"""

from __future__ import annotations

from capfence.call.decision import DEFAULT, Action, Decision
from capfence.call.view import CallView
from capfence.policy.compiled import Policy, Rule


def evaluate(policy: Policy, view: CallView) -> Decision:
    """Decide one call. Exceptions from conditions propagate: the runtime turns them into deny."""
    found = first_match(policy, view)
    if found is None:
        reason = f"no rule matched capability {view.capability!r}; policy default is {policy.default}"
        return Decision(policy.default, reason, None, policy.digest, None, None, DEFAULT)
    rule, unknown = found
    reason = rule.reason
    if rule.explains:
        detail = rule.explain(view)
        if detail is not None:
            reason += f": {detail}"
    if unknown is not None:
        reason += f" (fail-closed: the {unknown} condition could not be evaluated)"
    # (positional: cheaper)
    return Decision(rule.section, reason, rule.id, policy.digest, None, None, rule.provenance)


def verdict(policy: Policy, view: CallView) -> tuple[Action, str | None]:
    """:func:`evaluate`'s action and rule id, without the :class:`Decision` and its reason (``replay`` decides a million
    calls and keeps only these). The same matching: :func:`first_match`."""
    found = first_match(policy, view)
    if found is None:
        return policy.default, None
    rule = found[0]
    if rule.explains:
        rule.explain(view)  # what it says is not kept, but if it raises, it raises here too: the same verdict
    return rule.section, rule.id


def first_match(policy: Policy, view: CallView) -> tuple[Rule, str | None] | None:
    """The rule that decides ``view`` and the key of a condition it could not evaluate (if any); None: the default."""
    for rule in policy.plan(view.capability).kept(view):
        matched, unknown = rule.check(view)
        if matched:
            return rule, unknown
    return None
