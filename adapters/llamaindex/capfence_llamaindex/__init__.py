"""CapFence for LlamaIndex: put LlamaIndex tools, workflow agents and ``AgentWorkflow``\\s behind a CapFence policy.

    from capfence import ActionRuntime, CapFenceTool
    from capfence_llamaindex import guard, guard_agent, guard_workflow

    runtime = ActionRuntime.from_policy("policy.yaml")

    # one tool (any LlamaIndex BaseTool): still a FunctionTool, same metadata
    safe_shell = CapFenceTool(tool=shell_tool, agent_id="ops", capability="shell.execute", gate=runtime)

    # a plain function -> a gated FunctionTool (also usable as @guard(...))
    refund_tool = guard(refund, gate=runtime, agent_id="billing", capability="payments.refund")

    # a whole agent (its tools and its tool_retriever), or every agent of a workflow
    guard_agent(agent, gate=runtime, capabilities={"shell": "shell.execute"})
    guard_workflow(workflow, gate=runtime, capabilities={"shell": "shell.execute"})

A blocked call returns ``ToolOutput(is_error=True, content=<decision message>)``
so the agent loop carries on. ``CapFenceTool`` finds this package's adapter
through the ``capfence`` entry-point group (:mod:`capfence_llamaindex.plugin`).
Names are imported on first use, so importing this package (as the plugin
loader does) does not import LlamaIndex.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence.lazy import lazy_exports

if TYPE_CHECKING:
    from capfence_llamaindex.agents import DEFAULT_CAPABILITY, AgentGuard, guard_agent, guard_workflow
    from capfence_llamaindex.approvals import REQUEST_ID_FIELD, approval_events
    from capfence_llamaindex.functions import guard
    from capfence_llamaindex.tools import block_output, tool_payload, wrap_tool

__all__ = [
    "DEFAULT_CAPABILITY",
    "REQUEST_ID_FIELD",
    "AgentGuard",
    "approval_events",
    "block_output",
    "guard",
    "guard_agent",
    "guard_workflow",
    "tool_payload",
    "wrap_tool",
]

_HOMES = {
    "DEFAULT_CAPABILITY": "capfence_llamaindex.agents",
    "AgentGuard": "capfence_llamaindex.agents",
    "guard_agent": "capfence_llamaindex.agents",
    "guard_workflow": "capfence_llamaindex.agents",
    "guard": "capfence_llamaindex.functions",
    "REQUEST_ID_FIELD": "capfence_llamaindex.approvals",
    "approval_events": "capfence_llamaindex.approvals",
    "block_output": "capfence_llamaindex.tools",
    "tool_payload": "capfence_llamaindex.tools",
    "wrap_tool": "capfence_llamaindex.tools",
}


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
