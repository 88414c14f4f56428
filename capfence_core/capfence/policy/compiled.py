"""The compiled policy: rules indexed by capability, ready to evaluate."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from capfence.call.decision import ACTIONS, Action, Provenance
from capfence.call.view import CallView
from capfence.policy.limits import Limit
from capfence.policy.plan import Plan
from capfence.policy.spec import Condition, ConditionResultError, ConditionType, Prefilter, prefilter_of

SECTION_RANK = {name: rank for rank, name in enumerate(ACTIONS)}
_CACHE_LIMIT = 4096


@dataclass(frozen=True)
class Rule:
    """One compiled rule. ``conditions`` must all hold for the rule to match."""

    id: str
    section: Action
    order: int
    """Position across the whole merged policy; ties within a section resolve by it."""
    capability: str
    reason: str
    conditions: tuple[tuple[str, Condition], ...]
    source: str
    line: int | None
    approval_timeout: float | None = None
    spec: Mapping[str, object] = field(default_factory=dict, compare=False)
    """The rule as written in YAML (for ``explain``, lint and docs)."""
    mode: str = "enforce"
    """``shadow``: evaluated and recorded with each call, never deciding (see :mod:`capfence.call.shadow`)."""
    limit: Limit | None = field(default=None, compare=False)
    """``limit:``: the rule matches only once the call would exceed it (see :mod:`capfence.call.limiting`)."""
    owners: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Condition key -> the plugin that registered it (named when the condition returns something it must not)."""
    prefilters: tuple[Prefilter, ...] = field(init=False, compare=False, repr=False)
    """Its conditions' prefilters: ways to skip the rule cheaply (see :class:`~capfence.policy.spec.Prefilter`)."""
    provenance: Provenance = field(init=False, compare=False, repr=False)
    """What its decisions carry: decided by this rule, in ``source`` at ``line`` (built once, shared by every decision)."""
    explains: bool = field(init=False, compare=False, repr=False)
    """Some condition may say why it matched (:meth:`explain`; else it is ``None`` without asking)."""

    def __post_init__(self) -> None:
        found = (prefilter_of(condition) for _, condition in self.conditions)
        object.__setattr__(self, "prefilters", tuple(p for p in found if p is not None))
        object.__setattr__(self, "provenance", Provenance("rule", self.source, self.line))
        object.__setattr__(self, "explains", any(map(_explains, (c for _, c in self.conditions))))

    def check(self, view: CallView) -> tuple[bool, str | None]:
        """``(matched, unknown_key)``. An unknown resolves fail-closed: a match unless this is an allow rule.

        Raises :class:`ConditionResultError` for a result that is not ``True``, ``False`` or ``None``.
        """
        unknown: str | None = None
        for key, condition in self.conditions:
            result = condition(view)
            if result is False:
                return False, None
            if result is None:
                unknown = unknown or key
            elif result is not True:  # 0, "", numpy.False_, ...: not trusted, whatever its truth value
                raise ConditionResultError(key, self.id, result, self.owners.get(key))
        if unknown is not None and self.section == "allow":
            return False, unknown
        return True, unknown

    def explain(self, view: CallView) -> str | None:
        """What a condition says about why it matched (``command: {known: false}``: the program it does not know), if any."""
        for _, condition in self.conditions:
            explain = getattr(condition, "explain", None)
            if explain is not None:
                detail = explain(view)
                if isinstance(detail, str) and detail:
                    return detail
        return None

    @property
    def rank(self) -> tuple[int, int]:
        return SECTION_RANK[self.section], self.order


def _explains(condition: Condition) -> bool:
    """A condition with an ``explain`` (``explains``, if it says, tells whether that may ever say something)."""
    explains = getattr(condition, "explains", None)
    return bool(explains) if isinstance(explains, bool) else getattr(condition, "explain", None) is not None


@dataclass
class Policy:
    """A validated, compiled policy. Immutable once built (the cache is an optimization)."""

    path: Path
    digest: str
    default: Action
    rules: tuple[Rule, ...]
    exact: dict[str, tuple[Rule, ...]]
    globs: tuple[tuple[Callable[[str], bool], tuple[Rule, ...]], ...]
    files: tuple[Path, ...]
    redact: frozenset[str] = frozenset()
    max_payload_bytes: int = 65536
    approval_timeout: float = 3600.0
    shadow: tuple[Rule, ...] = ()
    """``mode: shadow`` rules: not in the index, so they never decide."""
    limited: tuple[Rule, ...] = ()
    """Rules with ``limit:``: not in the index; the runtime checks them against the audit store."""
    canonical: str = field(default="", repr=False)
    """The text :attr:`digest` is the hash of (recorded in the audit store, so ``capfence suggest`` can keep its rules)."""
    enforced: Policy | None = field(default=None, repr=False)
    """This policy with its shadow rules enforced (``None`` when it has none): what they would decide."""
    conditions: Mapping[str, ConditionType] = field(default_factory=dict, repr=False, compare=False)
    """The condition types it was compiled with (a policy derived from it, e.g. a suggested draft, uses them too)."""
    _cache: dict[str, Plan] = field(default_factory=dict, repr=False)

    def candidates(self, capability: str) -> tuple[Rule, ...]:
        """Rules that apply to ``capability``, strongest section first, then in file order."""
        return self.plan(capability).rules

    def plan(self, capability: str) -> Plan:
        """:meth:`candidates` with the index that lets a call skip rules it cannot match."""
        found = self._cache.get(capability)
        if found is None:
            merged = list(self.exact.get(capability, ()))
            for test, rules in self.globs:
                if test(capability):
                    merged.extend(rules)
            found = Plan.of(tuple(sorted(merged, key=lambda r: r.rank)))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[capability] = found
        return found

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.rules if r.id == rule_id), None)
