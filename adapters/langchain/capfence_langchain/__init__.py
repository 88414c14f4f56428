"""CapFence for LangChain: put LangChain tools, or a whole ``create_agent`` agent, behind a CapFence policy.

    from capfence import ActionRuntime, CapFenceTool
    from capfence_langchain import CapFenceMiddleware

    runtime = ActionRuntime.from_policy("policy.yaml")
    safe_shell = CapFenceTool(tool=shell, agent_id="ops-agent", capability="shell.execute", gate=runtime)
    agent = create_agent(model, [safe_shell, read_file],
                         middleware=[CapFenceMiddleware(gate=runtime, agent_id="ops-agent",
                                                        capabilities={"read_file": "filesystem.read"})])

``CapFenceTool`` finds this package's adapter through the ``capfence``
entry-point group (:mod:`capfence_langchain.plugin`). Names are imported on
first use, so importing this package (as the plugin loader does) does not
import LangChain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence.lazy import lazy_exports

if TYPE_CHECKING:
    from capfence_langchain.arguments import tool_payload
    from capfence_langchain.errors import ApprovalRequired, ToolCallDenied
    from capfence_langchain.interrupts import INTERRUPT_TYPE, is_approval_interrupt
    from capfence_langchain.middleware import DEFAULT_CAPABILITY, CapFenceMiddleware
    from capfence_langchain.tools import approval_interrupts, wrap_tool

__all__ = [
    "DEFAULT_CAPABILITY",
    "INTERRUPT_TYPE",
    "ApprovalRequired",
    "CapFenceMiddleware",
    "ToolCallDenied",
    "approval_interrupts",
    "is_approval_interrupt",
    "tool_payload",
    "wrap_tool",
]

_HOMES = {
    "ApprovalRequired": "capfence_langchain.errors",
    "ToolCallDenied": "capfence_langchain.errors",
    "CapFenceMiddleware": "capfence_langchain.middleware",
    "DEFAULT_CAPABILITY": "capfence_langchain.middleware",
    "INTERRUPT_TYPE": "capfence_langchain.interrupts",
    "is_approval_interrupt": "capfence_langchain.interrupts",
    "approval_interrupts": "capfence_langchain.tools",
    "tool_payload": "capfence_langchain.arguments",
    "wrap_tool": "capfence_langchain.tools",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
