"""The exceptions a blocked LangChain call raises: CapFence's, and LangChain's ``ToolException`` too.

Hierarchy::

    capfence.ToolCallDenied (a PermissionError)   langchain_core.tools.ToolException
                   └──────────── ToolCallDenied ──────────┘
                                      └── ApprovalRequired (also capfence.ApprovalRequired)

So ``except capfence.ToolCallDenied``, ``except PermissionError`` and
LangChain's own ``ToolException`` handling all see a blocked call.
"""

from __future__ import annotations

from langchain_core.tools import ToolException

import capfence
from capfence.call.decision import Decision


class ToolCallDenied(capfence.ToolCallDenied, ToolException):
    """A LangChain tool call blocked by the policy, raised when there is no tool-call id to answer."""


class ApprovalRequired(capfence.ApprovalRequired, ToolCallDenied):
    """A LangChain tool call held for a human's approval; ``request_id`` names the request."""


def blocked_error(decision: Decision) -> ToolCallDenied:
    """The exception for a blocked decision."""
    return ApprovalRequired(decision) if decision.action == "require_approval" else ToolCallDenied(decision)
