"""The ``limit:`` rule key: at most so many calls, or so much of a numeric argument, per time window.

```yaml
deny:
  - capability: shell.execute
    limit: {max: 20, per: 1m, by: agent}            # at most 20 calls a minute per agent
require_approval:
  - capability: payments.refund
    limit: {sum: amount, max: 5000, per: 1h, by: [agent]}   # refunds over 5,000 an hour need a person
```

A rule with ``limit:`` matches a call when its other conditions hold *and* the call would take the usage of its
window past ``max``: the rule's section (``deny``, ``require_approval`` or ``warn``) says what happens then. Usage
is what earlier calls that matched the rule's other conditions, and ran (allow or warn), used in the last ``per``:
one each, or the value of the ``sum`` argument. It lives in the audit store, written in the transaction that writes
the call's decision (:mod:`capfence.call.limiting`), so it holds across processes and restarts and two processes cannot
both take the last unit. ``by`` keys the count: by ``agent``, ``capability``, ``tool`` and/or ``environment``
(default: one count for all calls the rule matches).

This module is the pure part: the spec, the count's key for a call, and the call's amount.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from capfence.call.view import CallView
from capfence.durations import parse_duration
from capfence.policy.conditions import as_number, strict_mapping, string_list
from capfence.policy.spec import SpecError

KEYS = ("max", "per", "by", "sum")
SCOPES = {"agent": "agent_id", "capability": "capability", "tool": "tool", "environment": "environment"}
EXAMPLE = "limit: {max: 20, per: 1m, by: agent}"
SECTIONS = ("deny", "require_approval", "warn")


@dataclass(frozen=True)
class Limit:
    max: Decimal
    per: float
    by: tuple[str, ...]
    sum: str | None
    per_text: str

    def key(self, rule_id: str, view: CallView) -> str:
        """The count this call belongs to: the rule and the values of ``by``."""
        scope = {name: getattr(view, SCOPES[name]) for name in self.by}
        return json.dumps([rule_id, scope], sort_keys=True, ensure_ascii=False)

    def amount(self, view: CallView) -> Decimal | None:
        """What the call uses: 1, or the sum of its ``sum`` argument's values (``None``: not a number, or negative)."""
        if self.sum is None:
            return Decimal(1)
        values = [as_number(raw) for raw in view.field_values(self.sum)]
        if not values or any(v is None or v < 0 for v in values):
            return None
        return sum((v for v in values if v is not None), Decimal(0))

    def describe(self, view: CallView) -> str:
        what = f"{_number(self.max)} of {self.sum}" if self.sum else f"{_number(self.max)} call(s)"
        scope = ", ".join(f"{name} {getattr(view, SCOPES[name])!r}" for name in self.by)
        return f"at most {what} per {self.per_text}" + (f" for {scope}" if scope else "")


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else str(value)


def compile_limit(value: object, section: str) -> Limit:
    """The ``limit:`` value of a rule in ``section``; raises :class:`SpecError` (``key`` below ``limit``)."""
    if section not in SECTIONS:
        raise SpecError(
            f"limit cannot be used in an {section} rule",
            hint="put it in deny, require_approval or warn: the section says "
            "what happens once the limit is exceeded",
        )
    spec = strict_mapping(value, "limit", KEYS, EXAMPLE)
    for needed in ("max", "per"):
        if needed not in spec:
            raise SpecError(f"limit needs {needed}", hint=f"e.g. {EXAMPLE}")
    bound = spec["max"]
    if isinstance(bound, bool) or not isinstance(bound, int | float) or bound < 0:
        raise SpecError(f"max must be a number >= 0, got {bound!r}", key=("max",), hint="e.g. max: 20")
    try:
        per = parse_duration(spec["per"])
    except ValueError as exc:
        raise SpecError(str(exc), key=("per",)) from None
    by = tuple(string_list(spec["by"], "limit.by", "[agent, capability]")) if "by" in spec else ()
    for name in by:
        if name not in SCOPES:
            raise SpecError(f"unknown limit scope {name!r}", key=("by",), hint="one of " + ", ".join(SCOPES))
    total = spec.get("sum")
    if total is not None and (not isinstance(total, str) or not total.strip()):
        raise SpecError("sum must name a numeric argument", key=("sum",), hint="e.g. sum: amount")
    return Limit(Decimal(str(bound)), per, tuple(dict.fromkeys(by)), total, str(spec["per"]))
