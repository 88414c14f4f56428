"""Hook calls in which one plugin's fault cannot stop the others.

Every hook is called through pluggy, so ``tryfirst``/``trylast`` ordering,
``wrapper=True`` and ``hookwrapper=True`` implementations work as pluggy
documents them. pluggy stops a call at the first implementation that raises;
CapFence's hooks promise more: a broken plugin is reported and skipped, the
others still run, and nothing reaches the caller. So :class:`PluginManager`
replaces each implementation's function, when its plugin is registered, with
one that asks the :data:`Isolation` of the current :func:`call_isolated` how
to run it (log and ignore, collect and warn, ...). Called plainly
(``pm.hook.name(...)``) an implementation runs as written.

A wrapper's setup (up to its ``yield``) and teardown (after it) each run in
the same isolation. Wrappers are accepted where there is a call to wrap
(:data:`WRAPPABLE`); the registration hooks run once to collect what plugins
provide, so a wrapper there is refused when its plugin is registered.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Generator
from typing import Any, cast

import pluggy

Isolation = Callable[[pluggy.HookImpl, Callable[..., object], tuple[object, ...]], object]
"""``isolation(impl, function, args)`` runs ``function(*args)`` for the implementation ``impl``, deals with what it raises,
and returns what it returned (``None`` when it swallowed a failure)."""

WRAPPABLE = frozenset({"capfence_on_decision"})
"""Hooks that accept ``wrapper=True`` / ``hookwrapper=True`` implementations."""

_CURRENT: contextvars.ContextVar[tuple[str, Isolation] | None] = contextvars.ContextVar(
    "capfence_isolation", default=None
)


def call_isolated(hook: pluggy.HookCaller, isolation: Isolation, **kwargs: object) -> Any:
    """``hook(**kwargs)`` through pluggy, with every implementation of this hook run by ``isolation``."""
    token = _CURRENT.set((hook.name, isolation))
    try:
        return hook(**kwargs)
    finally:
        _CURRENT.reset(token)


def _run_plainly(impl: pluggy.HookImpl, function: Callable[..., object], args: tuple[object, ...]) -> object:
    return function(*args)


def _isolation_for(hook_name: str) -> Isolation:
    current = _CURRENT.get()
    return current[1] if current is not None and current[0] == hook_name else _run_plainly


class PluginManager(pluggy.PluginManager):
    """pluggy's plugin manager; registering a plugin also isolates each of its hook implementations."""

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` (see :meth:`pluggy.PluginManager.register`); a wrapper where none is accepted is refused."""
        registered = super().register(plugin, name)
        if registered is None:  # blocked
            return None
        try:
            for caller in self.get_hookcallers(plugin) or ():
                for impl in caller.get_hookimpls():
                    if impl.plugin is plugin:
                        _isolate(caller.name, impl)
        except BaseException:
            self.unregister(plugin)
            raise
        return registered


def _isolate(hook_name: str, impl: pluggy.HookImpl) -> None:
    if not (impl.wrapper or impl.hookwrapper):
        impl.function = _isolated(hook_name, impl, impl.function)  # type: ignore[misc] # pluggy calls impl.function
        return
    if hook_name not in WRAPPABLE:
        raise pluggy.PluginValidationError(
            impl.plugin,
            f"plugin {impl.plugin_name!r}: {hook_name} cannot be a wrapper (wrapper=True or hookwrapper=True): it is called once "
            "to collect what plugins register, so there is no call to wrap; implement it plainly",
        )
    impl.function = _isolated_wrapper(hook_name, impl, impl.function)  # type: ignore[misc]


def _isolated(
    hook_name: str, impl: pluggy.HookImpl, function: Callable[..., object]
) -> Callable[..., object]:
    @functools.wraps(function)
    def isolated(*args: object) -> object:
        return _isolation_for(hook_name)(impl, function, args)

    return isolated


Teardown = Generator[None, object, object]


def _isolated_wrapper(
    hook_name: str, impl: pluggy.HookImpl, function: Callable[..., object]
) -> Callable[..., Teardown]:
    """A wrapper around the plugin's wrapper: its setup and teardown are isolated; the hook's result passes through unchanged."""

    @functools.wraps(function)
    def isolated(*args: object) -> Teardown:
        run = _isolation_for(hook_name)
        inner = cast("Teardown | None", run(impl, functools.partial(_setup, function), args))
        try:
            outcome = yield
        except BaseException:
            if inner is not None:
                run(impl, lambda *_: inner.close(), args)
            raise
        if inner is not None:
            run(impl, functools.partial(_teardown, inner, outcome), args)
        return outcome

    return isolated


def _setup(function: Callable[..., object], *args: object) -> Teardown:
    inner = cast(Teardown, function(*args))
    try:
        next(inner)
    except StopIteration:
        raise RuntimeError(f"hook wrapper {function.__qualname__} did not yield") from None
    return inner


def _teardown(inner: Teardown, outcome: object, *args: object) -> None:
    try:
        inner.send(outcome)
    except StopIteration:
        return
    inner.close()
    raise RuntimeError("hook wrapper yielded twice")
