"""Lazy package exports: names are imported from their home module on first use.

Keeps ``import capfence`` (and each adapter package) cheap: nothing heavy, and
no framework, is imported until a name is actually used. Type checkers see
the real imports through an ``if TYPE_CHECKING:`` block in the package.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, homes: Mapping[str, str], names: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: each name in ``homes`` is imported from its home module when first read."""
    module = sys.modules[package]
    exported = frozenset(names)

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module-level hook
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(module)) | exported)

    return __getattr__, __dir__
