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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from capfence.policy.spec import Summarize, describe

if TYPE_CHECKING:
    from capfence.call.view import CallView
    from capfence.policy.compiled import Rule


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
        return None if keys is None else self.keep(keys)

    def keep(self, keys: object) -> set[int]:
        """Positions of the members a call with the summary ``keys`` may match."""
        if not isinstance(keys, frozenset | set):  # "" or 0 would rule every member out: not trusted
            raise TypeError(
                f"prefilter {getattr(self.summarize, '__qualname__', self.summarize)!r} returned {describe(keys)}; "
                "it must return a frozenset of keys or None"
            )
        kept: set[int] = set()
        for key in keys:
            kept.update(self.by_key.get(key, ()))
        return kept

    def ruled_out(self, view: CallView) -> frozenset[int]:
        kept = self.in_play(view)
        return frozenset() if kept is None else self.members.difference(kept)


_KEPT_LIMIT = 1024
"""Key sets whose rules a plan remembers (emptied when full: bounded whatever programs calls name)."""


@dataclass(frozen=True)
class Plan:
    """The candidate rules for one capability, strongest first, and how to skip the ones a call cannot match."""

    rules: tuple[Rule, ...]
    groups: tuple[_Group, ...]
    unfiltered: frozenset[int]
    """Positions of the rules no group can skip."""
    _kept: dict[frozenset[str], tuple[Rule, ...]] = field(default_factory=dict, compare=False, repr=False)
    """One summary's keys -> the rules they keep in play (a cache: a pure function of the keys, which repeat from call to call)."""

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
            _Group(fn, frozenset(positions), {k: frozenset(v) for k, v in by_key[fn].items()})
            for fn, positions in members.items()
        )
        return Plan(rules, groups, frozenset(range(len(rules))).difference(*members.values()))

    def kept(self, view: CallView) -> Sequence[Rule]:
        """The rules this call may match, in precedence order (it certainly matches none of the others)."""
        if not self.groups:  # no rule can be skipped unchecked
            return self.rules
        if len(self.groups) == 1:  # the common case: one summary (the shell analysis) decides what is in play
            group = self.groups[0]
            keys = group.summarize(view)
            if keys is None:
                return self.rules
            if type(keys) is frozenset:  # (hashable: the rules for these keys are remembered)
                found = self._kept.get(keys)
                if found is None:
                    found = self._in_play(group.keep(keys))
                    if len(self._kept) >= _KEPT_LIMIT:
                        self._kept.clear()
                    self._kept[keys] = found
                return found
            return self._in_play(group.keep(keys))
        skipped = self.skipped(view)
        return (
            [rule for position, rule in enumerate(self.rules) if position not in skipped]
            if skipped
            else self.rules
        )

    def _in_play(self, kept: set[int]) -> tuple[Rule, ...]:
        kept.update(self.unfiltered)
        return tuple(self.rules[position] for position in sorted(kept))

    def skipped(self, view: CallView) -> frozenset[int]:
        """Positions of the rules this call certainly does not match."""
        return frozenset().union(*(group.ruled_out(view) for group in self.groups))
