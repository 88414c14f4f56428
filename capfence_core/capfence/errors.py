"""Exceptions raised by CapFence.

Hierarchy::

    CapFenceError                  base of everything CapFence raises on purpose
    ├── PolicyError                a policy file cannot be loaded (file, line, key, hint)
    ├── AuditError                 the audit store cannot be opened, read or written
    ├── ContractError              (also TypeError; in capfence.contracts) a plugin's object lacks a required member
    └── ToolCallDenied             (also PermissionError) a tool call was blocked
        └── ApprovalRequired       the call is held until a human decides (carries request id)

Every exception carries the object at fault: a ``PolicyError`` its file and
problems, a ``ToolCallDenied`` its :class:`~capfence.Decision`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from capfence.call.decision import Decision


class CapFenceError(Exception):
    """Base class of every error CapFence raises on purpose."""


@dataclass(frozen=True)
class PolicyProblem:
    """One thing wrong with a policy file, located as precisely as we can."""

    path: str
    line: int | None
    column: int | None
    key: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class PolicyError(CapFenceError):
    """A policy cannot be loaded. ``problems`` lists every problem found.

    The first problem's location is exposed as ``path``, ``line``, ``column``,
    ``key`` and ``hint`` for convenience.
    """

    def __init__(self, problems: list[PolicyProblem]) -> None:
        if not problems:
            raise ValueError("PolicyError needs at least one problem")
        self.problems = problems
        first = problems[0]
        self.path, self.line, self.column = first.path, first.line, first.column
        self.key, self.hint = first.key, first.hint
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(f"{first}{more}")


class AuditError(CapFenceError):
    """The audit store cannot be opened, read or written."""


class ToolCallDenied(CapFenceError, PermissionError):
    """A tool call was blocked by the policy (or by a failure, which blocks too)."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        super().__init__(decision.message())


class ApprovalRequired(ToolCallDenied):
    """The call is held until a human approves it; ``request_id`` names the request."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision)
        self.request_id = decision.approval_id
