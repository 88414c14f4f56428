"""The CapFence plugin of ``capfence-langchain``, loaded through the ``capfence`` entry-point group.

It registers one adapter for LangChain ``BaseTool`` objects (``@tool``
functions and ``StructuredTool`` included). Importing this module imports
neither LangChain nor the rest of this package: ``accepts`` only looks at
``sys.modules``, because an object can only be a ``BaseTool`` if LangChain is
already imported, and the wrapping code is imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capfence import Adapter, Binding, hookimpl
from capfence.contracts import instance_of_loaded

PRIORITY = 10
"""Before the generic callable adapter (1000): a LangChain tool is also callable in some versions."""


def accepts(obj: object) -> bool:
    """True for an instance of ``langchain_core.tools.BaseTool``; never imports LangChain."""
    return instance_of_loaded(obj, "langchain_core.tools.base", "BaseTool")


def wrap(obj: Any, binding: Binding) -> Any:
    from capfence_langchain.tools import wrap_tool

    return wrap_tool(obj, binding)


@hookimpl
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(Adapter("langchain", "langchain", accepts, wrap, priority=PRIORITY))
