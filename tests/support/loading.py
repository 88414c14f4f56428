"""Loading a policy the way most tests want it: with the built-in condition types, the registry built once."""

from __future__ import annotations

import functools
from pathlib import Path

from capfence.plugins import Registry, build_registry
from capfence.policy import loader
from capfence.policy.compiled import Policy
from capfence.policy.source import PolicyFiles


@functools.cache
def builtin_plugins() -> Registry:
    """A registry of the built-in plugin alone (no entry points), built once: the conditions most tests load with."""
    return build_registry(entry_points=False)


def load_policy(path: str | Path, *, files: PolicyFiles | None = None) -> Policy:
    """:func:`capfence.policy.loader.load_policy` with the built-in condition types."""
    return loader.load_policy(path, builtin_plugins().conditions, files=files)
