"""Ways a human decides a held call, registered through ``capfence_register_approvers``.

An approver presents a pending :class:`~capfence.approvals.requests.ApprovalRequest`
and records the human's answer with :meth:`Approvals.approve` / ``deny``; it
never decides on its own. Identity (``decided_by``) comes from, in order: the
approver's ``identity`` argument, ``$CAPFENCE_APPROVER``, the OS user name.

Built-ins:

* :class:`ConsoleApprover` (``console``) asks on the controlling terminal. Without a TTY it
  raises :class:`ApproverUnavailable` at once instead of hanging.
* :class:`CallbackApprover` (``callback``) calls a Python function that returns
  ``True``/``False`` (or ``(bool, comment)``).
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import IO

from capfence.approvals.requests import ApprovalRequest, Approvals
from capfence.errors import CapFenceError

APPROVER_ENV = "CAPFENCE_APPROVER"


class ApproverUnavailable(CapFenceError):
    """The approver cannot ask anybody (e.g. no TTY)."""


def default_identity() -> str:
    """``$CAPFENCE_APPROVER``, else the OS user name."""
    env = os.environ.get(APPROVER_ENV, "").strip()
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry (containers)
        return f"uid:{os.getuid()}"


def describe(request: ApprovalRequest) -> str:
    return (
        f"Approval request {request.id}\n"
        f"  agent:      {request.agent_id}\n  tool:       {request.tool}\n  capability: {request.capability}\n"
        f"  rule:       {request.rule}\n  arguments:  {request.payload[:2000]}\n  expires:    {request.expires}\n"
    )


class ConsoleApprover:
    """Ask on the terminal: ``approve? [y/N]``. Needs a TTY on stdin."""

    name = "console"

    def __init__(
        self, identity: str | None = None, stdin: IO[str] | None = None, stdout: IO[str] | None = None
    ) -> None:
        self.identity = identity
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout

    def review(self, request: ApprovalRequest, approvals: Approvals) -> ApprovalRequest:
        if not self.stdin.isatty():
            raise ApproverUnavailable(
                f"the console approver needs an interactive terminal; decide with `capfence approvals approve {request.id}` instead"
            )
        self.stdout.write(describe(request) + "Approve this call? [y/N] ")
        self.stdout.flush()
        answer = self.stdin.readline().strip().lower()
        by = self.identity or default_identity()
        if answer in ("y", "yes"):
            return approvals.approve(request.id, by=by, comment="approved at the console")
        return approvals.deny(request.id, by=by, comment="denied at the console")


class CallbackApprover:
    """Decide with a Python function: ``fn(request) -> bool | (bool, comment)``."""

    name = "callback"

    def __init__(self, fn: Callable[[ApprovalRequest], bool | tuple[bool, str]], identity: str) -> None:
        if not identity:
            raise ValueError("a CallbackApprover needs the identity its decisions are recorded under")
        self.fn, self.identity = fn, identity

    def review(self, request: ApprovalRequest, approvals: Approvals) -> ApprovalRequest:
        verdict = self.fn(request)
        approved, comment = verdict if isinstance(verdict, tuple) else (verdict, None)
        if approved is True:
            return approvals.approve(request.id, by=self.identity, comment=comment)
        return approvals.deny(request.id, by=self.identity, comment=comment)
