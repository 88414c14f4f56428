"""The contract between the policy compiler and condition matchers.

A *condition* is one key of a rule other than ``capability``, ``id`` and
``reason`` (``contains``, ``agent``, ``command``, ...). A :class:`ConditionType`
turns the YAML value of that key into a :class:`Condition`: a callable that
receives the per-call :class:`~capfence.call.view.CallView` and answers

* ``True``  the condition holds,
* ``False`` it does not,
* ``None``  it cannot be known (an unparseable shell command, a number that
  is not a number, input over a hard bound). The evaluator resolves ``None``
  *fail-closed*: it counts as a match in ``deny``, ``require_approval`` and
  ``warn`` rules and as no match in ``allow`` rules, so an unknown can never
  allow a call.

Anything else (``0``, ``""``, ``numpy.False_``, any object that is not the
``bool`` ``True``/``False`` or ``None``) is a broken condition: the evaluator
raises :class:`ConditionResultError` and the runtime denies the call, in
whichever section the rule sits.

Compilation happens once, when the policy is loaded. A bad value raises
:class:`SpecError`; the loader turns it into a :class:`~capfence.PolicyError`
that names the file, line and key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capfence.call.view import CallView

KeyPath = tuple[str | int, ...]
Condition = Callable[["CallView"], "bool | None"]
Summarize = Callable[["CallView"], "frozenset[str] | None"]


@dataclass(frozen=True)
class Prefilter:
    """A cheap way to rule a condition out before it runs; a condition offers one as its ``prefilter`` attribute.

    ``summarize(view)`` describes the call as a set of keys (or ``None``: no
    shortcut for this call). It runs once per call for all conditions sharing
    the same ``summarize`` object. The condition promises to answer ``False``
    (not ``None``) whenever the call's keys are disjoint from ``keys``, so the
    evaluator skips the rule unchecked: skipping changes no decision, only its
    cost. An exception in ``summarize`` denies the call, like one in a condition.
    """

    summarize: Summarize
    keys: frozenset[str]


def prefilter_of(condition: Condition) -> Prefilter | None:
    """The condition's :class:`Prefilter`, if it has one."""
    found = getattr(condition, "prefilter", None)
    return found if isinstance(found, Prefilter) else None


def describe(value: object) -> str:
    """``value`` for an error message: its type and a short repr (a repr that raises is not trusted either)."""
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - describing a broken result must not fail
        text = f"<repr raised {type(exc).__name__}>"
    return f"{name} {text[:77] + '...' if len(text) > 80 else text}"


class ConditionResultError(TypeError):
    """A condition returned something other than ``True``, ``False`` or ``None``: a plugin error, never a match."""

    def __init__(self, key: str, rule: str, value: object, plugin: str | None = None) -> None:
        by = f" of plugin {plugin!r}" if plugin else ""
        super().__init__(
            f"condition {key!r}{by} in rule {rule} returned {describe(value)}; a condition must return True, False or None"
        )
        self.key = key
        self.rule = rule
        self.plugin = plugin


class SpecError(Exception):
    """A condition's value is invalid.

    ``key`` is the path *below* the condition key (``("gt",)`` for
    ``args: {amount: {gt: "x"}}`` relative to ``args.amount``); ``hint`` is a
    did-you-mean or an example of a valid value.
    """

    def __init__(self, message: str, *, key: KeyPath = (), hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.hint = hint


@dataclass(frozen=True)
class CompileContext:
    """What a condition compiler may know about where it is used."""

    section: str
    """``deny``, ``require_approval``, ``warn`` or ``allow``."""
    policy_dir: str
    """Directory of the policy file (for conditions that refer to files)."""
    allow_rules: list[Any] = field(default_factory=list)
    """The policy's compiled allow rules that have a ``command:`` condition, filled in as it loads (shared by every file of one
    policy): how ``command: {known: ...}`` lets allow rules extend the catalogue of known programs."""


Compiler = Callable[[object, "CompileContext"], Condition]
"""Turns a condition's YAML value into a :data:`Condition`, raising :class:`SpecError` if invalid."""


@dataclass(frozen=True)
class ConditionType:
    """A named condition key and how to compile its value.

    ``doc`` is a one-line description; ``example`` a YAML snippet of the value
    (both used by ``capfence check`` hints and the policy reference).
    """

    key: str
    compile: Compiler
    doc: str
    example: str
    plugin: str | None = field(default=None, compare=False)
    """The plugin that registered it (set by the registry; named when one of its conditions misbehaves)."""
