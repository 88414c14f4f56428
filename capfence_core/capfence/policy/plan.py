"""Which rules a call can skip: the evaluator's use of condition prefilters.

For one capability, :class:`Plan` holds the candidate rules in precedence
order and, per ``summarize`` function, an inverted index from key to the
rules that can only match calls with that key. A call then costs one
``summarize`` per function and a few set operations, however many rules the
index rules out (a shell pack's ``rm``, ``dd`` and ``mkfs`` rules are not
looked at for ``git status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capfence.policy.spec import Summarize, describe

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

    def in_play(self, view: CallView) -> set[int] | None:
        """Positions of the members this call may match (``None``: all of them)."""
        keys = self.summarize(view)
        if keys is None:
            return None
        if not isinstance(keys, frozenset | set):  # "" or 0 would rule every member out: not trusted
            raise TypeError(f"prefilter {getattr(self.summarize, '__qualname__', self.summarize)!r} returned {describe(keys)}; "
                            "it must return a frozenset of keys or None")
        kept: set[int] = set()
        for key in keys:
            kept.update(self.by_key.get(key, ()))
        return kept

    def ruled_out(self, view: CallView) -> frozenset[int]:
        kept = self.in_play(view)
        return frozenset() if kept is None else self.members.difference(kept)


@dataclass(frozen=True)
class Plan:
    """The candidate rules for one capability, strongest first, and how to skip the ones a call cannot match."""

    rules: tuple[Rule, ...]
    groups: tuple[_Group, ...]
    unfiltered: frozenset[int]
    """Positions of the rules no group can skip."""

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
        return Plan(rules, groups, frozenset(range(len(rules))).difference(*members.values()))

    def kept(self, view: CallView) -> Sequence[Rule]:
        """The rules this call may match, in precedence order (it certainly matches none of the others)."""
        if len(self.groups) == 1:  # the common case: one summary (the shell analysis) decides what is in play
            kept = self.groups[0].in_play(view)
            if kept is None:
                return self.rules
            kept.update(self.unfiltered)
            return [self.rules[position] for position in sorted(kept)]
        skipped = self.skipped(view)
        return [rule for position, rule in enumerate(self.rules) if position not in skipped] if skipped else self.rules

    def skipped(self, view: CallView) -> frozenset[int]:
        """Positions of the rules this call certainly does not match."""
        return frozenset().union(*(group.ruled_out(view) for group in self.groups))
