"""A decision record's provenance, read back: what decided it, the rule's file and line, the approver.

Written by :func:`capfence.audit.record.decision_record` into the record's ``detail``
(``decided_by``, ``rule_source``, ``rule_line``, ``approver``; see
:class:`capfence.call.decision.Provenance`). Records written before provenance existed have
none; for them ``decided_by`` is inferred from the rule and reason, as
:attr:`capfence.call.decision.Decision.decided_by` does, and the rest is unknown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

KEYS = ("decided_by", "rule_source", "rule_line", "approver")


def provenance(record: Mapping[str, Any]) -> dict[str, Any]:
    """``{"decided_by", "rule_source", "rule_line", "approver"}`` of a decision record (``None`` where unknown)."""
    detail = record.get("detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = None
    found = {key: detail.get(key) for key in KEYS} if isinstance(detail, dict) else dict.fromkeys(KEYS)
    if found["decided_by"] is None:
        if str(record.get("reason") or "").startswith("internal_error:"):
            found["decided_by"] = "internal_error"
        else:
            found["decided_by"] = "rule" if record.get("rule") else "default"
    return found


def describe(record: Mapping[str, Any], shown: Callable[[str], str] = str) -> str:
    """One line: ``rule policy.yaml:12``, ``approval by alice (policy.yaml:8)``, ``default``, ``internal_error``.

    ``shown``: how a rule's file is shown (the CLI shows it relative to the current directory).
    """
    found = provenance(record)
    where = ""
    if found["rule_source"]:
        where = shown(str(found["rule_source"])) + (f":{found['rule_line']}" if found["rule_line"] else "")
    if found["decided_by"] == "approval":
        who = f" by {found['approver']}" if found["approver"] else ""
        return f"approval{who}" + (f" ({where})" if where else "")
    return f"{found['decided_by']} {where}".rstrip()
