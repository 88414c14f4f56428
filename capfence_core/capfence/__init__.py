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
    from capfence.call.decision import Decision
    from capfence.call.gate import Binding
    from capfence.call.runtime import ActionRuntime
    from capfence.call.tool import CapFenceTool
    from capfence.call.view import CallView
    from capfence.contracts import Adapter
    from capfence.errors import (
        ApprovalRequired,
        AuditError,
        CapFenceError,
        PolicyError,
        PolicyProblem,
        ToolCallDenied,
    )
    from capfence.plugins import hookimpl
    from capfence.policy.spec import CompileContext, ConditionType, SpecError

_EXPORTS = {
    "ActionRuntime": "capfence.call.runtime",
    "Adapter": "capfence.contracts",
    "ApprovalRequired": "capfence.errors",
    "AuditError": "capfence.errors",
    "Binding": "capfence.call.gate",
    "CallView": "capfence.call.view",
    "CapFenceError": "capfence.errors",
    "CapFenceTool": "capfence.call.tool",
    "CompileContext": "capfence.policy.spec",
    "ConditionType": "capfence.policy.spec",
    "Decision": "capfence.call.decision",
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
