"""The ``command: {known: ...}`` condition: is every command of a call known safe?

An invocation is known safe if the built-in catalogue says so
(:func:`~capfence.policy.shell.known.why_held`) or if an ``allow`` rule of the
same policy covers it: its capability matches the call's, its other conditions
hold for the call, and its ``command:`` condition matches the invocation. That
is how a policy extends the catalogue without code::

    allow:
      - capability: "shell.*"
        command: {program: terraform, subcommand: [plan, validate]}

makes ``terraform plan`` known, so ``terraform plan && ls`` is neither held nor
refused. The reasons are computed once per command text (cached on its
analysis); only the invocations the catalogue holds are offered to the
policy's allow rules, per call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from capfence.call.view import CallView
from capfence.policy.patterns import name_matcher
from capfence.policy.shell.known import why_held_each
from capfence.policy.shell.model import Analysis, Invocation

Tri = bool | None
_HOLDS = "known:holds"
"""Key of the per-invocation reasons in :attr:`Analysis.verdicts`."""


def holds(analysis: Analysis) -> tuple[str | None, ...]:
    """Why each invocation of the analysis would be held (``None``: known safe); computed once per analysis."""
    verdicts: dict[object, Any] = analysis.verdicts
    cached: tuple[str | None, ...] | None = verdicts.get(_HOLDS)
    if cached is None:
        cached = verdicts[_HOLDS] = why_held_each(analysis.invocations)
    return cached


@dataclass(frozen=True, eq=False)
class Known:
    wanted: bool
    """``known: true`` (every command known safe) or ``known: false`` (some command is not)."""
    allow_rules: list[Any] = field(default_factory=list)
    """The policy's allow rules with a ``command:`` condition, filled in as the policy loads."""
    _matchers: dict[str, Callable[[str], bool]] = field(default_factory=dict)

    def first_reason(self, found: Sequence[Analysis], view: CallView) -> str | None:
        """The reason of the first invocation that is neither catalogued safe nor covered by an allow rule."""
        for analysis in found:
            if analysis.error is not None:
                return "the command cannot be parsed"
            for inv, reason in zip(analysis.invocations, holds(analysis), strict=True):
                if reason is not None and not self.covered(inv, view):
                    return reason
        return None

    def judge(self, found: Sequence[Analysis], view: CallView, every: bool) -> Tri:
        results: list[Tri] = []
        for analysis in found:
            if analysis.error is not None:
                results.append(None)
                continue
            unknown = self.first_reason((analysis,), view) is not None
            results.append(unknown != self.wanted)
        if any(r is None for r in results) and not any(r is (not self.wanted) for r in results):
            return None
        return all(results) if self.wanted else any(results)

    def covered(self, inv: Invocation, view: CallView) -> bool:
        for rule in self.allow_rules:
            if not self._capability(rule.capability)(view.capability):
                continue
            if self._covers(rule, inv, view):
                return True
        return False

    def _capability(self, pattern: str) -> Callable[[str], bool]:
        found = self._matchers.get(pattern)
        if found is None:
            found = self._matchers[pattern] = name_matcher(pattern)
        return found

    @staticmethod
    def _covers(rule: Any, inv: Invocation, view: CallView) -> bool:
        command = False
        for key, condition in rule.conditions:
            covers = getattr(condition, "covers", None) if key == "command" else None
            if covers is not None:
                if covers(inv) is not True:
                    return False
                command = True
            elif condition(view) is not True:
                return False
        return command
