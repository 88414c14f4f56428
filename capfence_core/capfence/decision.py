"""Decisions are values: what the policy said about one tool call, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import ClassVar, Literal

Action = Literal["allow", "warn", "deny", "require_approval"]
ACTIONS: tuple[Action, ...] = ("deny", "require_approval", "warn", "allow")
"""Every action, strongest first: the order of precedence between policy sections."""


@dataclass(frozen=True)
class Decision:
    """The verdict on one tool call.

    ``rule`` is the stable id of the matched rule (its ``id:`` or
    ``"<section>[<index>]"``), ``None`` when the policy default decided or
    when a failure denied the call.
    """

    action: Action
    reason: str
    rule: str | None = None
    policy_digest: str | None = None
    record_id: int | None = None
    """Sequence number of the audit record written for this decision."""
    approval_id: str | None = None
    """For ``require_approval``: the id of the approval request holding the call."""
    notes: ClassVar[Mapping[str, object] | None] = None
    """What else was found while deciding, recorded in the audit record's ``detail``: ``shadow`` (what a shadow rule
    would have decided), ``limits`` (the usage this call counted against rate and budget limits). Not a field: set
    only by :meth:`with_notes` (so building the common decision costs nothing more), kept by :meth:`with_`."""

    def __init__(
        self,
        action: Action,
        reason: str,
        rule: str | None = None,
        policy_digest: str | None = None,
        record_id: int | None = None,
        approval_id: str | None = None,
    ) -> None:
        # The generated __init__ of a frozen dataclass sets each field through object.__setattr__; one update of the
        # instance's dict does the same at half the cost (two decisions are made per call).
        self.__dict__.update(
            action=action, reason=reason, rule=rule, policy_digest=policy_digest, record_id=record_id, approval_id=approval_id
        )

    @property
    def allowed(self) -> bool:
        """True when the tool may run: ``allow`` and ``warn``."""
        return self.action in ("allow", "warn")

    @property
    def section(self) -> str | None:
        """The policy section the matched rule sits in (``None`` for the default)."""
        return self.action if self.rule is not None else None

    def with_(self, **changes: object) -> Decision:
        """A copy with some fields changed (and the same :attr:`notes`)."""
        copy = replace(self, **changes)  # type: ignore[arg-type]
        if self.notes is not None:
            object.__setattr__(copy, "notes", self.notes)
        return copy

    def with_notes(self, **notes: object) -> Decision:
        """A copy with ``notes`` added to :attr:`notes`."""
        copy = replace(self)
        object.__setattr__(copy, "notes", {**(self.notes or {}), **notes})
        return copy

    def message(self) -> str:
        """One line an agent (or a person) can act on."""
        text = f"CapFence {self.action}: {self.reason}"
        if self.rule:
            text += f" [rule {self.rule}]"
        if self.approval_id:
            text += f" [approval request {self.approval_id}]"
        return text


def failure(reason: str, policy_digest: str | None = None) -> Decision:
    """The decision for anything that went wrong: deny, and say why."""
    return Decision(action="deny", reason=f"internal_error: {reason}", policy_digest=policy_digest)
