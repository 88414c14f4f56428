"""Analyses are pure functions of the command, so they are cached, with what each cost.

Short commands (the common case) are kept by their text in a process-wide
LRU, so a command seen before costs a dictionary lookup. Longer ones are kept
by their SHA-256 digest (not their text) in a second LRU bounded by the size
of the analyses it holds, so a long command repeated (an agent retrying a
denied call) is not analyzed again either. Within a call, analyses are shared
between rules by :mod:`capfence.policy.shell.targets`. Commands over
:data:`MAX_COMMAND_CHARS` are not parsed at all: they are unknowable, which
fails closed.

Every analysis is bounded by a budget of steps (:mod:`capfence.policy.shell.budget`),
and each cached analysis remembers how many steps it took. The commands of
one call share one budget: the first is analyzed (or found in the cache)
with a whole budget, each later one within what is left, uncached, since a
reduced budget may run out where a whole one would not. The answer does not
depend on what was cached.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

from capfence.policy.shell import budget as budgets
from capfence.policy.shell import shortcuts, sketch
from capfence.policy.shell.analyzer import analyze_argv, analyze_script
from capfence.policy.shell.budget import Budget
from capfence.policy.shell.model import Analysis
from capfence.policy.shell.sketch import Sketch, argv_keys, sketch_text

MAX_COMMAND_CHARS = 65536
"""Commands longer than this are not analyzed (the condition answers "unknown")."""
CACHED_CHARS = 4096
"""Commands up to this size are kept by their text (at most :data:`CACHED_ENTRIES` of them: a few MB)."""
CACHED_ENTRIES = 2048
LONG_CACHED_WEIGHT = 100_000
"""Longer ones are kept by digest, with at most this many invocations, arguments and redirections in all (a few tens of MB)."""
LONG_CACHED_ENTRIES = 256

_TOO_LONG = Analysis(error=f"command longer than {MAX_COMMAND_CHARS} characters")


class Costed(NamedTuple):
    analysis: Analysis
    cost: int
    """Budget steps the analysis took (more than the budget if it ran out)."""


class _DigestLRU:
    """Costed analyses of long commands by digest; least recently used dropped beyond the entry or weight bound."""

    def __init__(self, entries: int, weight: int) -> None:
        self.max_entries = entries
        self.max_weight = weight
        self.items: OrderedDict[bytes, tuple[Costed, int]] = OrderedDict()
        self.weight = 0
        self.lock = threading.Lock()

    def get(self, key: bytes, compute: Callable[[], Costed]) -> Costed:
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
                return found[0]
        costed = compute()
        weight = _weight(costed.analysis)
        if weight > self.max_weight:
            return costed
        with self.lock:
            if key not in self.items:
                self.items[key] = (costed, weight)
                self.weight += weight
            while len(self.items) > self.max_entries or self.weight > self.max_weight:
                _, (_, dropped) = self.items.popitem(last=False)
                self.weight -= dropped
        return costed

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.weight = 0


def _weight(analysis: Analysis) -> int:
    return 1 + sum(1 + len(inv.args) + len(inv.redirects) for inv in analysis.invocations)


def _digest(parts: tuple[str, ...]) -> bytes:
    """SHA-256 of the words, each length-prefixed (``("a b",)`` and ``("a", "b")`` differ); lone surrogates allowed."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.digest()


_LONG = _DigestLRU(LONG_CACHED_ENTRIES, LONG_CACHED_WEIGHT)


def _analyze(analyze: Callable[[Budget], Analysis], limit: int) -> Costed:
    budget = Budget(limit)
    analysis = analyze(budget)
    return Costed(analysis, limit - budget.left)


@lru_cache(maxsize=CACHED_ENTRIES)
def _cached_text(text: str) -> Costed:
    limit = budgets.MAX_STEPS
    budget = Budget(limit)
    # the sketch is usually cached: the prefilter has just made it
    analysis = analyze_script(text, _cached_sketch(text), budget)
    return Costed(analysis, limit - budget.left)


@lru_cache(maxsize=CACHED_ENTRIES // 2)
def _cached_argv(argv: tuple[str, ...]) -> Costed:
    return _analyze(lambda budget: analyze_argv(argv, budget), budgets.MAX_STEPS)


@lru_cache(maxsize=2048)
def _cached_sketch(text: str) -> Sketch:
    return sketch_text(text)


@lru_cache(maxsize=1024)
def _cached_argv_keys(argv: tuple[str, ...]) -> frozenset[str] | None:
    return argv_keys(argv)


cached_sketch = _cached_sketch
""":func:`~capfence.policy.shell.sketch.sketch_text`, cached (for text up to :data:`CACHED_CHARS`: :func:`sketch_of_text`)."""


def sketch_of_text(text: str) -> Sketch | None:
    """:func:`~capfence.policy.shell.sketch.sketch_text` of ``text`` (cached) if it is short enough to be kept by its text."""
    return _cached_sketch(text) if len(text) <= CACHED_CHARS and shortcuts.ENABLED else None


def keys_of_text(text: str) -> frozenset[str] | None:
    """The analysis's index keys when they can be had without analyzing (:mod:`~capfence.policy.shell.sketch`), else ``None``."""
    return _cached_sketch(text).filter_keys if len(text) <= CACHED_CHARS and shortcuts.ENABLED else None


def known_of_text(text: str) -> bool:
    """``text`` is a plain list whose every command is known safe from its words (:attr:`Sketch.known`): no analysis needed."""
    return len(text) <= CACHED_CHARS and shortcuts.ENABLED and _cached_sketch(text).known


def keys_of_argv(argv: tuple[str, ...]) -> frozenset[str] | None:
    if not shortcuts.ENABLED:
        return None
    return _cached_argv_keys(argv) if sum(len(word) + 1 for word in argv) <= CACHED_CHARS else None


def _over(limit: int) -> Costed:
    reason = f"too complex to analyze within the time bound (the call's commands need more than {budgets.MAX_STEPS:,} steps of work)"
    return Costed(Analysis(error=reason), limit + 1)


def _within(limit: int, analyze: Callable[[Budget], Analysis]) -> Costed:
    """An analysis with less than a whole budget (a later command of a call): not cached, as it may run out where a
    whole budget would not; when it does not, it is the same analysis as with a whole one."""
    costed = _analyze(analyze, limit)
    return _over(limit) if costed.cost > limit else costed


def costed_text(text: str, limit: int | None = None) -> Costed:
    """The analysis of a command line within ``limit`` steps (the whole budget if ``None``), and what it cost."""
    if len(text) > MAX_COMMAND_CHARS:
        return Costed(_TOO_LONG, 0)
    if limit is not None and limit < budgets.MAX_STEPS:
        return _within(limit, lambda budget: analyze_script(text, None, budget))
    if not shortcuts.ENABLED:  # nothing cached: analyzed afresh
        return _analyze(lambda budget: analyze_script(text, None, budget), budgets.MAX_STEPS)
    if len(text) <= CACHED_CHARS:
        return _cached_text(text)
    return _LONG.get(
        b"text:" + _digest((text,)),
        lambda: _analyze(lambda budget: analyze_script(text, None, budget), budgets.MAX_STEPS),
    )


def costed_argv(argv: tuple[str, ...], limit: int | None = None) -> Costed:
    """The analysis of an argument vector within ``limit`` steps, and what it cost."""
    size = sum(len(word) + 1 for word in argv)
    if size > MAX_COMMAND_CHARS:
        return Costed(_TOO_LONG, 0)
    if limit is not None and limit < budgets.MAX_STEPS:
        return _within(limit, lambda budget: analyze_argv(argv, budget))
    if not shortcuts.ENABLED:
        return _analyze(lambda budget: analyze_argv(argv, budget), budgets.MAX_STEPS)
    if size <= CACHED_CHARS:
        return _cached_argv(argv)
    return _LONG.get(
        b"argv:" + _digest(argv),
        lambda: _analyze(lambda budget: analyze_argv(argv, budget), budgets.MAX_STEPS),
    )


def analysis_of_text(text: str) -> Analysis:
    return costed_text(text).analysis


def analysis_of_argv(argv: tuple[str, ...]) -> Analysis:
    return costed_argv(argv).analysis


def clear() -> None:
    """Forget every cached analysis (tests, or after changing the knowledge tables)."""
    _LONG.clear()
    for cached in (_cached_text, _cached_argv, _cached_sketch, _cached_argv_keys):
        cached.cache_clear()
    sketch.clear()


shortcuts.on_switch(clear)  # turning the shortcuts on or off forgets what was cached by the other route
