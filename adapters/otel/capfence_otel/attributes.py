"""The attribute, span and metric names this plugin emits, in one place (docs/opentelemetry.md explains each).

GenAI names follow the OpenTelemetry GenAI semantic conventions (execute-tool span,
development status): ``gen_ai.tool.name``, ``gen_ai.tool.call.id``, ``gen_ai.agent.id``
and the opt-in ``gen_ai.tool.call.arguments``. Everything CapFence adds is under ``capfence.``.
"""

from __future__ import annotations

from typing import Final

GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
ERROR_TYPE: Final = "error.type"

DECISION: Final = "capfence.decision"
"""allow, warn, deny or require_approval."""
DECIDED_BY: Final = "capfence.decided_by"
"""rule, default, approval, approval_timeout or internal_error."""
CAPABILITY: Final = "capfence.capability"
RULE_ID: Final = "capfence.rule.id"
RULE_SOURCE: Final = "capfence.rule.source"
RULE_LINE: Final = "capfence.rule.line"
POLICY_DIGEST: Final = "capfence.policy.digest"
REASON: Final = "capfence.reason"
AUDIT_SEQ: Final = "capfence.audit.seq"
APPROVAL_ID: Final = "capfence.approval.id"
APPROVER: Final = "capfence.approval.approver"
FRAMEWORK: Final = "capfence.framework"
ENVIRONMENT: Final = "capfence.environment"

SPAN_NAME: Final = "capfence.decision"
"""A decision span is named ``capfence.decision {tool}`` (or ``{capability}`` for a call with no tool name)."""

DECISIONS: Final = "capfence.decisions"
EVALUATION_DURATION: Final = "capfence.gate.evaluation.duration"
AUDIT_DURATION: Final = "capfence.gate.audit.duration"
PENDING_APPROVALS: Final = "capfence.approvals.pending"

DURATION_BUCKETS: Final = (
    1e-6,
    2.5e-6,
    5e-6,
    1e-5,
    2.5e-5,
    5e-5,
    1e-4,
    2.5e-4,
    5e-4,
    1e-3,
    2.5e-3,
    5e-3,
    1e-2,
    2.5e-2,
    5e-2,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""Histogram bucket boundaries in seconds: the gate works in microseconds (evaluation) to milliseconds (audit write)."""
