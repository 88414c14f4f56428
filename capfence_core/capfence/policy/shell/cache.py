"""Analyses are pure functions of the command, so they are cached.

Short commands (the common case) go through a process-wide LRU, so a
command seen before costs a dictionary lookup. Longer ones are analyzed on
each call (and shared between the rules of that call by
:mod:`capfence.policy.shell.targets`). Commands over :data:`MAX_COMMAND_CHARS`
are not parsed at all: they are unknowable, which fails closed. The index
keys of short commands that can be had without an analysis
(:mod:`capfence.policy.shell.sketch`) are cached the same way.
"""

from __future__ import annotations

from functools import lru_cache

from capfence.policy.shell import sketch
from capfence.policy.shell.analyzer import analyze_argv, analyze_script
from capfence.policy.shell.model import Analysis
from capfence.policy.shell.sketch import Sketch, argv_keys, sketch_text

MAX_COMMAND_CHARS = 65536
"""Commands longer than this are not analyzed (the condition answers "unknown")."""
CACHED_CHARS = 4096
"""Only commands up to this size are kept in the LRU (bounds its memory to a few MB)."""

_TOO_LONG = Analysis(error=f"command longer than {MAX_COMMAND_CHARS} characters")


@lru_cache(maxsize=2048)
def _cached_text(text: str) -> Analysis:
    return analyze_script(text, _cached_sketch(text))  # the sketch is usually cached: the prefilter has just made it


@lru_cache(maxsize=1024)
def _cached_argv(argv: tuple[str, ...]) -> Analysis:
    return analyze_argv(argv)


@lru_cache(maxsize=2048)
def _cached_sketch(text: str) -> Sketch:
    return sketch_text(text)


@lru_cache(maxsize=1024)
def _cached_argv_keys(argv: tuple[str, ...]) -> frozenset[str] | None:
    return argv_keys(argv)


def keys_of_text(text: str) -> frozenset[str] | None:
    """The analysis's index keys when they can be had without analyzing (:mod:`~capfence.policy.shell.sketch`), else ``None``."""
    return _cached_sketch(text).filter_keys if len(text) <= CACHED_CHARS else None


def known_of_text(text: str) -> bool:
    """``text`` is a plain list whose every command is known safe from its words (:attr:`Sketch.known`): no analysis needed."""
    return len(text) <= CACHED_CHARS and _cached_sketch(text).known


def keys_of_argv(argv: tuple[str, ...]) -> frozenset[str] | None:
    return _cached_argv_keys(argv) if sum(len(word) + 1 for word in argv) <= CACHED_CHARS else None


def analysis_of_text(text: str) -> Analysis:
    if len(text) > MAX_COMMAND_CHARS:
        return _TOO_LONG
    return _cached_text(text) if len(text) <= CACHED_CHARS else analyze_script(text)


def analysis_of_argv(argv: tuple[str, ...]) -> Analysis:
    size = sum(len(word) + 1 for word in argv)
    if size > MAX_COMMAND_CHARS:
        return _TOO_LONG
    return _cached_argv(argv) if size <= CACHED_CHARS else analyze_argv(argv)


def clear() -> None:
    """Forget every cached analysis (tests, or after changing the knowledge tables)."""
    for cached in (_cached_text, _cached_argv, _cached_sketch, _cached_argv_keys):
        cached.cache_clear()
    sketch.clear()
