"""CapFence: a policy gate between AI agents and their tools.

Every tool call is evaluated against a YAML policy (allow, warn, deny or
require_approval) and recorded in a hash-chained audit log before it can run.

    from capfence import CapFenceTool, ActionRuntime
    runtime = ActionRuntime.from_policy("policies/shell_rollout.yaml")
    safe_tool = CapFenceTool(tool=my_tool, agent_id="prod-agent", capability="shell.execute", gate=runtime)

The public names are imported on first use (PEP 562), so importing a
submodule such as :mod:`capfence.cli` or :mod:`capfence.errors` does not pull
in the runtime, YAML or SQLite: ``capfence --help`` starts in a few tens of
milliseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from capfence.lazy import lazy_exports

if TYPE_CHECKING:
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

_EXPORTS = {
    "ActionRuntime": "capfence.runtime",
    "Adapter": "capfence.tool",
    "ApprovalRequired": "capfence.errors",
    "AuditError": "capfence.errors",
    "Binding": "capfence.gate",
    "CallView": "capfence.policy.view",
    "CapFenceError": "capfence.errors",
    "CapFenceTool": "capfence.tool",
    "CompileContext": "capfence.policy.spec",
    "ConditionType": "capfence.policy.spec",
    "Decision": "capfence.decision",
    "PolicyError": "capfence.errors",
    "PolicyProblem": "capfence.errors",
    "SpecError": "capfence.policy.spec",
    "ToolCallDenied": "capfence.errors",
    "hookimpl": "capfence.plugins",
}

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
