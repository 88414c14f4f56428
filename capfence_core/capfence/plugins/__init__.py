"""The plugin registry: built by a function, never at import time, and handed to whoever needs it.

:func:`build_registry` builds a pluggy plugin manager and collects what the plugins register
(a :class:`Registry`). Nothing here is process-wide: an :class:`~capfence.ActionRuntime` builds
(or is given) its own and passes its parts on (adapters to :func:`~capfence.call.tool.find_adapter`,
store types to :func:`~capfence.audit.store.open_store`, condition types to
:func:`~capfence.policy.loader.load_policy`); the CLI builds one per command line.
The types plugins register are in :mod:`capfence.contracts`.

This package also holds the rest of the machinery: :mod:`~capfence.plugins.isolation` (hook calls
in which one plugin's fault cannot stop the others) and :mod:`~capfence.plugins.builtin` (CapFence's
own plugin).

Built-in plugins (:data:`DEFAULT_PLUGINS`) are registered through the same
path as external ones; external plugins are found in the ``capfence``
entry-point group (our own framework adapters included). A plugin that fails
to import, fails validation, or raises while registering is skipped with a
:class:`PluginWarning` naming it; CapFence keeps working without it. Set
``CAPFENCE_BLOCK_PLUGINS=name1,name2`` to block plugins by name.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from capfence import hookspecs
from capfence.contracts import APPROVER_MEMBERS, Adapter, StoreType, missing_members
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
    """A plugin manager and everything its plugins registered, in the order they registered it."""

    manager: pluggy.PluginManager
    """For the hooks called after registration (``capfence_on_decision``, ``capfence_register_commands``)."""
    adapters: list[Adapter] = field(default_factory=list)
    conditions: dict[str, ConditionType] = field(default_factory=dict)
    stores: list[StoreType] = field(default_factory=list)
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


def build_registry(*, entry_points: bool = True) -> Registry:
    """A fresh plugin manager and what its plugins registered (built-ins first, then the ``capfence`` entry points)."""
    pm = PluginManager("capfence")
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm)
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
    return registry


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


_KINDS: dict[str, tuple[str | None, str]] = {
    "capfence_register_adapters": ("adapters", "adapter"),
    "capfence_register_matchers": ("conditions", "condition"),
    "capfence_register_audit_stores": ("stores", "audit store"),
    "capfence_register_approvers": (None, "approver"),
}
"""Registration hook -> (the :class:`Registry` list it fills, or None: only listed in ``capfence plugins``; its label)."""


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


_CONTRACTS: dict[str, tuple[type, tuple[str, ...]]] = {
    "adapter": (Adapter, ()),
    "condition": (ConditionType, ()),
    "audit store": (StoreType, ()),
    "approver": (object, APPROVER_MEMBERS),
}
"""What each kind of registered thing must be: an instance of a class, and the members it needs (see
:mod:`capfence.contracts`; an approver is registered as its class, or an instance)."""


def _invalid(label: str, item: object) -> str | None:
    """Why ``item`` cannot be registered as a ``label``, or None."""
    cls, members = _CONTRACTS[label]
    if not isinstance(item, cls):
        return f"a {type(item).__qualname__}, not a {cls.__module__}.{cls.__qualname__}"
    if isinstance(item, type):
        missing = [name for name in members if not any(name in vars(c) for c in item.__mro__)]
        what = f"class {item.__qualname__}"
    else:
        missing = missing_members(item, members)
        what = f"a {type(item).__qualname__}"
    return f"{what} with no {', '.join(map(repr, missing))}" if missing else None


def _add(registry: Registry, attr: str | None, label: str, item: Any, plugin: str) -> None:
    problem = _invalid(label, item)
    if problem is not None:
        warnings.warn(
            PluginWarning(f"plugin {plugin!r} registers {problem} as {label}; ignored"), stacklevel=4
        )
        return
    target = getattr(registry, attr) if attr is not None else None
    if isinstance(target, dict):
        if item.key in target:
            warnings.warn(
                PluginWarning(
                    f"plugin {plugin!r} registers condition {item.key!r}, which already exists; ignored"
                ),
                stacklevel=4,
            )
            return
        target[item.key] = dataclasses.replace(item, plugin=plugin)
    elif target is not None:
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


hookimpl = pluggy.HookimplMarker("capfence")
"""Decorator for plugin hook implementations: ``@capfence.hookimpl``."""
