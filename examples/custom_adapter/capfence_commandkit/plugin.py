"""The plugin module named by the entry point: it registers the commandkit adapter.

Importing it must stay cheap and must not import commandkit: CapFence loads
every installed plugin when it builds its plugin manager, also in programs
that never use commandkit. ``accepts`` therefore looks in ``sys.modules``
(an object can only be a ``commandkit.Command`` if commandkit is imported),
and the wrapping code is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capfence import Adapter, Binding, hookimpl
from capfence.contracts import instance_of_loaded


def accepts(obj: object) -> bool:
    return instance_of_loaded(obj, "commandkit", "Command")


def wrap(obj: Any, binding: Binding) -> Any:
    from capfence_commandkit.adapter import wrap_command

    return wrap_command(obj, binding)


@hookimpl
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    # priority: lower is asked first; the generic callable adapter is 1000
    register(Adapter(name="commandkit", framework="commandkit", accepts=accepts, wrap=wrap, priority=50))
