"""CapFence: a policy gate between AI agents and their tools.

Every tool call is evaluated against a YAML policy (allow, warn, deny or
require_approval) and recorded in a hash-chained audit log before it can run.

    from capfence import CapFenceTool, ActionRuntime
    runtime = ActionRuntime.from_policy("policies/shell_rollout.yaml")
    safe_tool = CapFenceTool(tool=my_tool, agent_id="prod-agent", capability="shell.execute", gate=runtime)
"""

from capfence.decision import Decision
from capfence.errors import (
    ApprovalRequired,
    AuditError,
    CapFenceError,
    PolicyError,
    PolicyProblem,
    ToolCallDenied,
)
from capfence.gate import Binding
from capfence.plugins import hookimpl
from capfence.policy.spec import CompileContext, ConditionType, SpecError
from capfence.policy.view import CallView
from capfence.runtime import ActionRuntime
from capfence.tool import Adapter, CapFenceTool

__all__ = [
    "ActionRuntime",
    "Adapter",
    "ApprovalRequired",
    "AuditError",
    "Binding",
    "CallView",
    "CapFenceError",
    "CapFenceTool",
    "CompileContext",
    "ConditionType",
    "Decision",
    "PolicyError",
    "PolicyProblem",
    "SpecError",
    "ToolCallDenied",
    "hookimpl",
]
