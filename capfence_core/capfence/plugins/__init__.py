"""The plugin manager: built in a function, never at import time.

Built-in plugins (:data:`DEFAULT_PLUGINS`) are registered through the same
path as external ones; external plugins are found in the ``capfence``
entry-point group (our own framework adapters included). A plugin that fails
to import, fails validation, or raises while registering is skipped with a
:class:`PluginWarning` naming it; CapFence keeps working without it. Set
``CAPFENCE_BLOCK_PLUGINS=name1,name2`` to block plugins by name.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from capfence import hookspecs
from capfence.audit.store import StoreType
from capfence.call.tool import Adapter
from capfence.plugins.isolation import Isolation, PluginManager, call_isolated
from capfence.policy.spec import ConditionType

ENTRY_POINT_GROUP = "capfence"
BLOCK_ENV = "CAPFENCE_BLOCK_PLUGINS"
DEFAULT_PLUGINS = ("capfence.builtin_plugin",)
"""Built-in plugins, by the name they are registered (and blocked) under."""
_BUILTIN_MODULES = {"capfence.builtin_plugin": "capfence.plugins.builtin"}
"""Where each built-in plugin's module lives (the name predates the ``plugins`` folder; users block it by name)."""


class PluginWarning(UserWarning):
    """A plugin was skipped."""


@dataclass
class PluginInfo:
    name: str
    distribution: str | None = None
    version: str | None = None
    registered: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """Everything the plugins registered, in the order they registered it."""

    adapters: list[Adapter] = field(default_factory=list)
    conditions: dict[str, ConditionType] = field(default_factory=dict)
    stores: list[StoreType] = field(default_factory=list)
    approvers: list[object] = field(default_factory=list)
    plugins: dict[str, PluginInfo] = field(default_factory=dict)


def _blocked() -> set[str]:
    return {name.strip() for name in os.environ.get(BLOCK_ENV, "").split(",") if name.strip()}


def _register(pm: pluggy.PluginManager, plugin: object, info: PluginInfo, registry: Registry) -> None:
    try:
        pm.register(plugin, name=info.name)
        pm.check_pending()
    except Exception as exc:  # noqa: BLE001 - a bad plugin is skipped, not fatal
        if pm.has_plugin(info.name):
            pm.unregister(name=info.name)
        warnings.warn(
            PluginWarning(f"CapFence plugin {info.name!r} is invalid and was skipped: {exc}"), stacklevel=3
        )
        return
    registry.plugins[info.name] = info


def build_manager(*, entry_points: bool = True) -> tuple[pluggy.PluginManager, Registry]:
    """A fresh plugin manager and what its plugins registered."""
    pm = PluginManager("capfence")
    pm.add_hookspecs(hookspecs)
    registry = Registry()
    blocked = _blocked()
    for name in blocked:
        pm.set_blocked(name)
    for module in DEFAULT_PLUGINS:
        if module not in blocked:
            _register(
                pm,
                importlib.import_module(_BUILTIN_MODULES[module]),
                PluginInfo(module, "capfence", _version("capfence")),
                registry,
            )
    if entry_points:
        _load_entry_points(pm, registry, blocked)
    _collect(pm, registry)
    return pm, registry


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _load_entry_points(pm: pluggy.PluginManager, registry: Registry, blocked: set[str]) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or pm.has_plugin(ep.name):
            continue
        dist = ep.dist.name if ep.dist else None
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001
            warnings.warn(
                PluginWarning(
                    f"CapFence plugin {ep.name!r} ({dist}) failed to load and was skipped: {type(exc).__name__}: {exc}"
                ),
                stacklevel=3,
            )
            continue
        _register(pm, plugin, PluginInfo(ep.name, dist, ep.dist.version if ep.dist else None), registry)


_KINDS: dict[str, tuple[str, str]] = {
    "capfence_register_adapters": ("adapters", "adapter"),
    "capfence_register_matchers": ("conditions", "condition"),
    "capfence_register_audit_stores": ("stores", "audit store"),
    "capfence_register_approvers": ("approvers", "approver"),
}


def _collect(pm: pluggy.PluginManager, registry: Registry) -> None:
    """Call each registration hook through pluggy; apply what it registered in plugin registration order (built-ins first)."""
    rank = {name: position for position, (name, _) in enumerate(pm.list_name_plugin())}
    for hook_name, (attr, label) in _KINDS.items():
        hook = getattr(pm.hook, hook_name)
        found: dict[pluggy.HookImpl, list[Any]] = {}
        call_isolated(hook, _collecting(hook_name, found), register=_outside_hook)
        for impl in sorted(hook.get_hookimpls(), key=lambda impl: rank.get(impl.plugin_name, len(rank))):
            for item in found.get(impl, ()):
                _add(registry, attr, label, item, impl.plugin_name)
    registry.adapters.sort(key=lambda a: a.priority)


def _collecting(hook_name: str, found: dict[pluggy.HookImpl, list[Any]]) -> Isolation:
    """Run one registration hook implementation into its own list; one that raises is skipped whole, with a warning."""

    def collect(impl: pluggy.HookImpl, function: Callable[..., object], args: tuple[object, ...]) -> None:
        items: list[Any] = []
        try:
            function(
                *[
                    items.append if name == "register" else arg
                    for name, arg in zip(impl.argnames, args, strict=True)
                ]
            )
        except Exception as exc:  # noqa: BLE001 - a bad plugin is skipped, not fatal
            name = getattr(function, "__name__", hook_name)
            message = (
                f"CapFence plugin {impl.plugin_name!r} ({name}) raised in {hook_name} and was skipped: {exc}"
            )
            warnings.warn(PluginWarning(message), stacklevel=2)
            return
        found[impl] = items

    return collect


def _outside_hook(item: object) -> None:
    raise RuntimeError("register() may only be called while its registration hook runs")


def _add(registry: Registry, attr: str, label: str, item: Any, plugin: str) -> None:
    target = getattr(registry, attr)
    if isinstance(target, dict):
        if item.key in target:
            warnings.warn(
                PluginWarning(
                    f"plugin {plugin!r} registers condition {item.key!r}, which already exists; ignored"
                ),
                stacklevel=4,
            )
            return
        target[item.key] = item
    else:
        target.append(item)
    name = (
        getattr(item, "key", None)
        or getattr(item, "name", None)
        or getattr(item, "__name__", None)
        or type(item).__name__
    )
    info = registry.plugins.get(plugin)
    if info is not None:
        info.registered.append(f"{label} {name}")


@functools.cache
def _default() -> tuple[pluggy.PluginManager, Registry]:
    return build_manager()


def get_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use."""
    return _default()[0]


def get_registry() -> Registry:
    return _default()[1]


def reset() -> None:
    """Forget the process-wide manager (tests, or after installing a plugin at run time)."""
    _default.cache_clear()


def condition_types() -> dict[str, ConditionType]:
    return get_registry().conditions


def condition_owner(key: str) -> str | None:
    """The plugin that registered condition ``key`` with the process-wide manager (None if unknown or not built yet)."""
    if _default.cache_info().currsize == 0:
        return None
    wanted = f"condition {key}"
    return next((info.name for info in get_registry().plugins.values() if wanted in info.registered), None)


def adapters() -> list[Adapter]:
    return get_registry().adapters


def store_types() -> list[StoreType]:
    return get_registry().stores


hookimpl = pluggy.HookimplMarker("capfence")
"""Decorator for plugin hook implementations: ``@capfence.hookimpl``."""
