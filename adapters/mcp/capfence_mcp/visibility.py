"""``--hide-denied``: which tools the policy denies whatever their arguments.

A tool is hidden from ``tools/list`` only when that is certain from the policy
and the caller's identity alone:

* a ``deny`` rule for its capability whose conditions are all about who calls
  (``agent``, ``environment``, ``tool``) and hold for this caller; or
* the policy's default is ``deny`` and no ``require_approval``, ``warn`` or
  ``allow`` rule for its capability could match this caller (each has an
  identity condition that fails).

Anything that depends on the arguments keeps the tool listed. A hidden tool
is still decided (and denied) if it is called anyway. Descriptions are never
changed.
"""

from __future__ import annotations

from capfence.call.view import CallView
from capfence.policy.compiled import Policy, Rule

IDENTITY_KEYS = frozenset({"agent", "environment", "tool"})


def _identity_verdict(rule: Rule, view: CallView) -> bool | None:
    """True: the rule matches every call from this caller; False: none; None: it depends on the arguments."""
    depends = False
    for key, condition in rule.conditions:
        if key not in IDENTITY_KEYS:
            depends = True
            continue
        try:
            if condition(view) is not True:
                return False
        except Exception:  # noqa: BLE001 - cannot tell: keep the tool listed
            return None
    return None if depends else True


def always_denied(policy: Policy, view: CallView) -> bool:
    """Whether every call ``view``'s caller can make under its capability is denied (see the module docstring)."""
    others_possible = False
    for rule in policy.candidates(view.capability):
        verdict = _identity_verdict(rule, view)
        if rule.section == "deny" and verdict is True:
            return True
        if rule.section != "deny" and verdict is not False:
            others_possible = True
    return policy.default == "deny" and not others_possible
