"""The switch that sends every shell decision through the full route (a test oracle for the shortcuts).

The matcher reaches its answer by the full route (lexer, parser, analyzer, every ``command:`` rule checked) or by
shortcuts that must give the same answer more cheaply (``docs/shell-matcher.md``, "Cost"):

- the *plain-words shortcut*: plain command lists split by regular expressions (:mod:`~capfence.policy.shell.plain`),
  walked without a syntax tree, also for nested code (``sh -c '...'``);
- the *sketch*: the index keys and the analysis of an all-ordinary plain list built from its words, and whether it is
  known safe from them (:mod:`~capfence.policy.shell.sketch`, :func:`~capfence.policy.shell.known.known_plain`);
- the *cached and indexed paths*: analyses kept by command text or digest (:mod:`~capfence.policy.shell.cache`), and
  rules skipped unchecked by the call's summary (:mod:`capfence.policy.plan`) or by a rule's index.

With ``CAPFENCE_SHELL_SHORTCUTS=off`` in the environment (read once, when this module is imported) none of them is
taken: each command is lexed, parsed and analyzed afresh and every ``command:`` rule is checked. That can only cost
time, never loosen a decision: the full route is the reference the shortcuts are tested against. ``nox -s
shell_full_route`` runs the shell test suite that way. Tests may flip :data:`ENABLED` through :func:`set_enabled`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

ENV = "CAPFENCE_SHELL_SHORTCUTS"
"""The environment variable: ``off`` (or ``0``, ``false``, ``no``) turns every shortcut off."""
_OFF = frozenset({"off", "0", "false", "no"})

ENABLED: bool = os.environ.get(ENV, "on").strip().lower() not in _OFF
"""Whether the shortcuts are taken (read by the matcher on each use, so :func:`set_enabled` takes effect at once)."""


_FORGET: list[Callable[[], None]] = []
"""What to call when the switch flips: the caches register how they are emptied (:func:`on_switch`)."""


def on_switch(forget: Callable[[], None]) -> None:
    """Have ``forget`` called whenever :func:`set_enabled` flips the switch (a cache empties itself)."""
    _FORGET.append(forget)


def set_enabled(enabled: bool) -> None:
    """Turn the shortcuts on or off for this process, forgetting every cached analysis (tests: the differential oracle)."""
    global ENABLED
    ENABLED = enabled
    for forget in _FORGET:
        forget()
