"""Build the rows the audit store appends: decisions, outcomes and events.

The ``ts`` a builder sets is when the record was built; the built-in stores
replace it with :func:`commit_time` as they chain the record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from capfence.audit.payload import serialize
from capfence.call.canonical import NotCanonical
from capfence.call.decision import Decision
from capfence.call.view import CallView

OUTCOMES = ("ran", "tool_error", "blocked", "held")


_SECOND: tuple[int, str] = (-1, "")
"""The last whole second formatted, and its text: every call in that second reuses it."""


def now() -> str:
    """UTC timestamp, ISO 8601 with microseconds (``2026-01-31T12:00:00.123456+00:00``, as ``datetime.isoformat`` writes it)."""
    # a one-entry cache: each call uses the tuple it read or made, so threads cannot mix seconds
    global _SECOND
    second, micros = divmod(time.time_ns() // 1000, 1_000_000)
    cached = _SECOND
    if cached[0] != second:
        cached = _SECOND = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{cached[1]}.{micros:06d}+00:00"


def commit_time(previous: str | None) -> str:
    """The ``ts`` of a record about to be chained after one stamped ``previous``: ``max(now(), previous)``.

    Stores call this while they hold the chain's head, so ``ts`` is
    non-decreasing along ``seq`` by construction: each record is stamped after
    the one it follows is known, whatever thread or process wrote that one and
    whenever either record was built. Stamping when a record is built instead
    lets a writer that queued behind others insert an older time after a newer
    one; and the wall clock itself can be stepped back (NTP), which the
    ``max`` absorbs (``ts`` then stands still until the clock catches up).
    Both values have :func:`now`'s fixed-width form, so text order is time order.
    """
    stamp = now()
    return previous if previous is not None and previous > stamp else stamp


def decision_record(
    view: CallView,
    decision: Decision,
    *,
    redact: frozenset[str],
    max_bytes: int,
    notes: Mapping[str, object] | None = None,
) -> dict[str, object]:
    stored = serialize(view.payload, redact=redact, max_bytes=max_bytes)
    agent_id, framework, tool, capability, environment = _storable_names(view)
    return {
        "ts": now(),
        "kind": "decision",
        "agent_id": agent_id,
        "framework": framework,
        "tool": tool,
        "capability": capability,
        "environment": environment,
        "payload": stored.text,
        "payload_sha256": stored.sha256,
        "payload_bytes": stored.size,
        "truncated": int(stored.truncated),
        "redacted": int(stored.redacted),
        "decision": decision.action,
        "rule": storable(decision.rule),
        "reason": storable(decision.reason),
        "policy_digest": decision.policy_digest,
        "detail": _decision_detail(view, decision, notes if notes is not None else decision.notes),
    }


def _storable_names(view: CallView) -> tuple[str | None, ...]:
    """agent, framework, tool, capability, environment as UTF-8 can store them (the common all-ASCII case at once)."""
    names = (view.agent_id, view.framework, view.tool, view.capability, view.environment)
    for name in names:  # (a loop, not all() over a generator: this runs for every record)
        if name is not None and not name.isascii():
            return tuple(map(storable, names))
    return names


def storable(text: str | None) -> str | None:
    """``text`` as UTF-8 can store it: lone surrogates (undecodable file names, hostile input) become ``\\udXXX`` escapes.

    Without this, a tool or agent name with a lone surrogate could not be
    written, and the call would be denied with no record of it.
    """
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _decision_detail(
    view: CallView, decision: Decision, notes: Mapping[str, object] | None = None
) -> str | None:
    """The decision's provenance, the approval request id and the framework's call id when there are any, and the
    decision's ``notes`` (``shadow``, ``limits``: older records simply lack these keys, and verify as before).

    Provenance (:class:`~capfence.call.decision.Provenance`): ``decided_by`` (rule, default,
    approval, approval_timeout, internal_error), ``rule_source`` and ``rule_line`` of the
    deciding rule, ``approver`` for a human's decision. It lives in ``detail``, a field
    the chain has always hashed, so the chain format is unchanged and records written
    before it existed verify as they did. With a call id, also the digest of the
    arguments' lossless encoding (``args_sha256``; ``null`` if they have none): a
    recorded decision is only ever reused for the same call id *and* exactly the same arguments.
    """
    provenance = decision.provenance
    if provenance is not None and not view.call_id and not decision.approval_id and not notes:
        return provenance.detail_text  # the common case: encoded once per rule
    detail: dict[str, object] = {
        key: value
        for key, value in (("approval_id", decision.approval_id), ("call_id", view.call_id))
        if value
    }
    if view.call_id:
        detail["args_sha256"] = bindable_digest(view)
    if provenance is not None:
        detail.update(provenance.detail)
    if notes:
        detail.update(notes)
    return json.dumps(detail, sort_keys=True, default=str) if detail else None


def bindable_digest(view: CallView) -> str | None:
    """:attr:`CallView.args_digest`, or None for arguments with no lossless encoding (nothing may be bound to them)."""
    try:
        return view.args_digest
    except NotCanonical:
        return None


def outcome_record(
    decision: Decision, outcome: str, detail: str | None = None, *, view: CallView | None = None
) -> dict[str, object]:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    return {
        "ts": now(),
        "kind": "outcome",
        "ref": decision.record_id,
        "outcome": outcome,
        "decision": decision.action,
        "rule": decision.rule,
        "policy_digest": decision.policy_digest,
        "agent_id": storable(view.agent_id) if view else None,
        "tool": storable(view.tool) if view else None,
        "capability": storable(view.capability) if view else None,
        "framework": storable(view.framework) if view else None,
        "detail": json.dumps({"error": detail}) if detail else None,
    }


def event_record(kind: str, reason: str, **detail: object) -> dict[str, object]:
    """A non-decision event such as ``policy_reload_failed``."""
    return {
        "ts": now(),
        "kind": kind,
        "reason": reason,
        "detail": json.dumps(detail, default=str) if detail else None,
    }
