"""Decisions are values: what the policy said about one tool call, and why."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import ClassVar, Literal

Action = Literal["allow", "warn", "deny", "require_approval"]
ACTIONS: tuple[Action, ...] = ("deny", "require_approval", "warn", "allow")
"""Every action, strongest first: the order of precedence between policy sections."""
DecidedBy = Literal["rule", "default", "approval", "approval_timeout", "internal_error"]
"""What decided a call: a policy rule, the policy default, a human's approval decision, an approval request that
expired, or a failure (which always denies)."""


@dataclass(frozen=True)
class Provenance:
    """Where a decision comes from: what decided it, the deciding rule's file and line, and the approver.

    Every decision record carries it (in its ``detail``: ``decided_by``, ``rule_source``,
    ``rule_line``, ``approver``), so an audit record answers "which rule, from which file,
    and who approved" without the policy at hand. A rule's provenance is built once, when
    the policy is compiled; a decision only points at it.
    """

    decided_by: DecidedBy
    source: str | None = None
    """The policy file the deciding rule is written in (for an approval: the rule that required it)."""
    line: int | None = None
    approver: str | None = None
    """For ``approval``: who approved or denied the request."""

    @cached_property
    def detail(self) -> dict[str, object]:
        """The keys this provenance adds to a decision record's ``detail`` (unset ones left out)."""
        keys = (
            ("decided_by", self.decided_by),
            ("rule_source", self.source),
            ("rule_line", self.line),
            ("approver", self.approver),
        )
        return {key: value for key, value in keys if value is not None}

    @cached_property
    def detail_text(self) -> str:
        """:attr:`detail` as the record's ``detail`` text when it is all there is (encoded once per rule, not per call)."""
        return json.dumps(self.detail, sort_keys=True)

    def after_approval(self, decided_by: DecidedBy, approver: str | None = None) -> Provenance:
        """The provenance of a decision on the approval request this rule filed: the same rule, decided by a human or a timeout."""
        return Provenance(decided_by, self.source, self.line, approver)


DEFAULT = Provenance("default")
INTERNAL_ERROR = Provenance("internal_error")


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
    provenance: Provenance | None = None
    """What decided, and where that is written (:class:`Provenance`); None only for decisions built by hand."""
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
        provenance: Provenance | None = None,
    ) -> None:
        # The generated __init__ of a frozen dataclass sets each field through object.__setattr__; one update of the
        # instance's dict does the same at half the cost (two decisions are made per call).
        self.__dict__.update(
            action=action,
            reason=reason,
            rule=rule,
            policy_digest=policy_digest,
            record_id=record_id,
            approval_id=approval_id,
            provenance=provenance,
        )

    @property
    def allowed(self) -> bool:
        """True when the tool may run: ``allow`` and ``warn``."""
        return self.action in ("allow", "warn")

    @property
    def section(self) -> str | None:
        """The policy section the matched rule sits in (``None`` for the default)."""
        return self.action if self.rule is not None else None

    @property
    def decided_by(self) -> DecidedBy:
        """``rule``, ``default``, ``approval``, ``approval_timeout`` or ``internal_error`` (inferred when :attr:`provenance` is unset)."""
        if self.provenance is not None:
            return self.provenance.decided_by
        if self.reason.startswith("internal_error:"):
            return "internal_error"
        return "rule" if self.rule is not None else "default"

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


@dataclass(frozen=True)
class Timing:
    """How long the gate itself took over one decision (``perf_counter`` seconds), for observers.

    ``evaluation``: the policy evaluation; ``audit``: writing the decision record (approvals
    resolved in the same transaction included); ``started``: ``time.perf_counter()`` when
    the decision began.
    """

    started: float
    evaluation: float
    audit: float


def failure(reason: str, policy_digest: str | None = None) -> Decision:
    """The decision for anything that went wrong: deny, and say why."""
    return Decision(
        action="deny",
        reason=f"internal_error: {reason}",
        policy_digest=policy_digest,
        provenance=INTERNAL_ERROR,
    )
