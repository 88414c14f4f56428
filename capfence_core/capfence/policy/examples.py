"""Calls written in YAML or JSON: a rule's ``examples:`` and the cases of ``capfence test``.

A call is a mapping with ``args`` (the payload; default ``{}``) and optionally ``capability`` (default: the rule's, when
it names one capability), ``agent``, ``tool`` and ``environment``. A rule's examples are the calls that must match it
(``match``) and the calls that must not (``no_match``), checked against that rule alone when the policy loads:

```yaml
deny:
  - capability: shell.execute
    reads: ["**/.env"]
    examples:
      match: [{args: {command: "cat .env"}}, {args: {command: "grep KEY .env"}}]
      no_match: [{args: {command: "cat README.md"}}]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from capfence.call.view import CallView
from capfence.policy.conditions import strict_mapping
from capfence.policy.patterns import is_glob
from capfence.policy.spec import SpecError

if TYPE_CHECKING:
    from capfence.policy.compiled import Rule

CALL_KEYS = ("capability", "args", "agent", "tool", "environment")
EXAMPLE_KEYS = ("match", "no_match")
EXAMPLE = 'examples: {match: [{args: {command: "cat .env"}}], no_match: [{args: {command: "ls"}}]}'


def call_view(value: object, *, capability: str | None = None, extra: tuple[str, ...] = ()) -> CallView:
    """A call mapping as a :class:`CallView`; raises :class:`SpecError` (``key`` within the mapping) if it is not one."""
    call = strict_mapping(
        value, "a call", (*CALL_KEYS, *extra), "{capability: shell.execute, args: {command: ls}}"
    )
    args = call.get("args", {})
    if not isinstance(args, Mapping):
        raise SpecError(
            f"args must be a mapping of the call's arguments, got {type(args).__name__}", key=("args",)
        )
    names: dict[str, str | None] = {}
    for key in ("capability", "agent", "tool", "environment"):
        found = call.get(key)
        if found is not None and not isinstance(found, str):
            raise SpecError(f"{key} must be a string, got {type(found).__name__}", key=(key,))
        names[key] = found
    cap = names["capability"] or capability
    if cap is None:
        raise SpecError(
            "the call needs a capability",
            hint="add capability: shell.execute (the rule's capability is a pattern)",
        )
    return CallView(cap, dict(args), names["agent"], names["environment"], names["tool"])


def check_examples(rule: Rule, value: object) -> list[SpecError]:
    """The problems with ``rule``'s ``examples:`` (``key`` below ``examples``): malformed calls, and calls it gets wrong."""
    try:
        spec = strict_mapping(value, "examples", EXAMPLE_KEYS, EXAMPLE)
    except SpecError as exc:
        return [exc]
    default = None if is_glob(rule.capability) else rule.capability
    problems: list[SpecError] = []
    for wanted in EXAMPLE_KEYS:
        calls = spec.get(wanted, [])
        if not isinstance(calls, list):
            problems.append(
                SpecError(f"examples.{wanted} must be a list of calls", key=(wanted,), hint=EXAMPLE)
            )
            continue
        for i, call in enumerate(calls):
            problem = _check_one(rule, call, default, wanted == "match")
            if problem is not None:
                problems.append(SpecError(problem.message, key=(wanted, i, *problem.key), hint=problem.hint))
    return problems


def _check_one(rule: Rule, call: object, default: str | None, should_match: bool) -> SpecError | None:
    try:
        view = call_view(call, capability=default)
    except SpecError as exc:
        return exc
    from capfence.policy.patterns import name_matcher

    try:
        matched = name_matcher(rule.capability)(view.capability) and rule.check(view)[0]
    except Exception as exc:  # noqa: BLE001 - a condition that raises denies at run time; here it is a failed example
        return SpecError(f"evaluating this example raised {type(exc).__name__}: {exc}")
    if matched == should_match:
        return None
    said = "does not match" if should_match else "matches"
    expected = "match" if should_match else "not match"
    return SpecError(
        f"example call {said} rule {rule.id} (it should {expected})",
        hint="fix the rule or the example; 'capfence explain' shows which condition decides",
    )
