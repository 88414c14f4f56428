"""Which rules a call can skip: the evaluator's use of condition prefilters.

For one capability, :class:`Plan` holds the candidate rules in precedence
order and, per ``summarize`` function, an inverted index from key to the
rules that can only match calls with that key. A call then costs one
``summarize`` per function and a few set operations, however many rules the
index rules out (a shell pack's ``rm``, ``dd`` and ``mkfs`` rules are not
looked at for ``git status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from capfence.policy.spec import Summarize

if TYPE_CHECKING:
    from capfence.policy.model import Rule
    from capfence.policy.view import CallView


@dataclass(frozen=True)
class _Group:
    summarize: Summarize
    members: frozenset[int]
    """Positions of the rules with a prefilter from this function."""
    by_key: dict[str, frozenset[int]]
    """Key -> positions of the rules that key keeps in play."""

    def ruled_out(self, view: CallView) -> frozenset[int]:
        keys = self.summarize(view)
        if keys is None:
            return frozenset()
        kept: set[int] = set()
        for key in keys:
            kept.update(self.by_key.get(key, ()))
        return self.members.difference(kept)


@dataclass(frozen=True)
class Plan:
    """The candidate rules for one capability, strongest first, and how to skip the ones a call cannot match."""

    rules: tuple[Rule, ...]
    groups: tuple[_Group, ...]

    @staticmethod
    def of(rules: tuple[Rule, ...]) -> Plan:
        members: dict[Summarize, set[int]] = {}
        by_key: dict[Summarize, dict[str, set[int]]] = {}
        for position, rule in enumerate(rules):
            for prefilter in rule.prefilters:
                members.setdefault(prefilter.summarize, set()).add(position)
                index = by_key.setdefault(prefilter.summarize, {})
                for key in prefilter.keys:
                    index.setdefault(key, set()).add(position)
        groups = tuple(
            _Group(fn, frozenset(positions), {k: frozenset(v) for k, v in by_key[fn].items()}) for fn, positions in members.items()
        )
        return Plan(rules, groups)

    def skipped(self, view: CallView) -> frozenset[int]:
        """Positions of the rules this call certainly does not match."""
        if not self.groups:
            return frozenset()
        if len(self.groups) == 1:
            return self.groups[0].ruled_out(view)
        return frozenset().union(*(group.ruled_out(view) for group in self.groups))
