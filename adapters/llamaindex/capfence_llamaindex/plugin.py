"""The CapFence plugin of ``capfence-llamaindex``, loaded through the ``capfence`` entry-point group.

It registers one adapter for LlamaIndex tools: any ``llama_index.core.tools.BaseTool``
(``FunctionTool``, ``QueryEngineTool``, ``RetrieverTool``, your own subclasses).
Importing this module imports neither LlamaIndex nor the rest of this package:
``accepts`` only looks at ``sys.modules``, because an object can only be a
LlamaIndex tool if LlamaIndex is already imported, and the wrapping code is
imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from capfence import Adapter, Binding, hookimpl
from capfence.contracts import instance_of_loaded

PRIORITY = 20
"""Before the generic callable adapter (1000): every LlamaIndex tool is callable too."""
TOOLS_MODULE = "llama_index.core.tools.types"


def accepts(obj: object) -> bool:
    """True for an instance of ``llama_index.core.tools.types.BaseTool``; never imports LlamaIndex."""
    return instance_of_loaded(obj, TOOLS_MODULE, "BaseTool")


def wrap(obj: Any, binding: Binding) -> Any:
    from capfence_llamaindex.tools import wrap_tool

    return wrap_tool(obj, binding)


@hookimpl
def capfence_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(Adapter("llamaindex", "llamaindex", accepts, wrap, priority=PRIORITY))
