"""The CapFence plugin of ``capfence-crewai``, loaded through the ``capfence`` entry-point group.

It registers one adapter for CrewAI ``BaseTool`` objects (``@tool`` tools,
which are ``crewai.tools.Tool`` instances, included). Importing this module
imports neither CrewAI (seconds to import) nor the rest of this package:
``accepts`` only looks at ``sys.modules``, because an object can only be a
CrewAI tool if CrewAI is already imported, and the wrapping code is imported
on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capfence import Adapter, Binding, hookimpl
from capfence.contracts import instance_of_loaded

PRIORITY = 20
"""Before the generic callable adapter (1000)."""


def accepts(obj: object) -> bool:
    """True for an instance of ``crewai.tools.BaseTool``; never imports CrewAI."""
    return instance_of_loaded(obj, "crewai.tools.base_tool", "BaseTool")


def wrap(obj: Any, binding: Binding) -> Any:
    from capfence_crewai.tools import wrap_tool

    return wrap_tool(obj, binding)


@hookimpl
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(Adapter("crewai", "crewai", accepts, wrap, priority=PRIORITY))
