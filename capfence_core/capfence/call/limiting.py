"""Rate and budget limits at run time: usage read and counted in the audit store's write transaction.

For a call, :func:`pending` finds the policy's ``limit:`` rules whose capability and other conditions hold (a pure
step, run where the rest of the policy is evaluated: an exception there denies the call). The runtime then opens the
audit store's write transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL's chain lock: one writer at a time, across
processes) and, inside it, :func:`decide` reads each rule's usage in its window; the strongest rule whose limit the
call would exceed decides (if it is stronger than what the other rules decided), with a reason that says how much
was used. If the call is allowed (allow or warn), :func:`count` adds its usage in the same transaction as its
decision record, so two processes racing for the last unit cannot both get it: the second reads the first's usage.

Usage rows live in the store's ``usage`` table (key, ts, amount, seq of the decision record); the decision record's
``detail`` lists them too (``"limits"``), so the audit chain vouches for every unit counted. A held call
(require_approval) counts nothing. Anything that goes wrong reading usage denies the call, saying why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from capfence.audit.query import utc_iso
from capfence.audit.record import now
from capfence.call.decision import Decision
from capfence.call.view import CallView
from capfence.policy.compiled import SECTION_RANK, Policy, Rule
from capfence.policy.patterns import name_matcher

USAGE = "SELECT COALESCE(SUM(amount), 0) FROM usage WHERE key = ? AND ts >= ?"
COUNT = "INSERT INTO usage (key, ts, amount, seq) VALUES (?, ?, ?, ?)"


class Transaction(Protocol):
    def execute(self, sql: str, params: Any = ()) -> Any: ...


class LimitError(Exception):
    """Usage could not be read or counted: the call is denied with this message."""


@dataclass(frozen=True)
class Pending:
    """A limit rule whose other conditions hold for the call: its count's key and what the call would use."""

    rule: Rule
    key: str
    amount: Decimal | None
    """``None``: the ``sum`` argument is missing or not a non-negative number (the rule then decides: fail-closed)."""


_MATCHERS: dict[str, Callable[[str], bool]] = {}


def pending(policy: Policy, view: CallView, decision: Decision) -> list[Pending]:
    """The limit rules that apply to the call, strongest first (none when it is denied anyway: nothing to count)."""
    if decision.action == "deny":
        return []
    found = []
    for rule in policy.limited:
        matcher = _MATCHERS.get(rule.capability) or _MATCHERS.setdefault(
            rule.capability, name_matcher(rule.capability)
        )
        if matcher(view.capability) and rule.check(view)[0] and rule.limit is not None:
            found.append(Pending(rule, rule.limit.key(rule.id, view), rule.limit.amount(view)))
    return sorted(found, key=lambda p: p.rule.rank)


def decide(tx: Transaction, found: list[Pending], decision: Decision, view: CallView) -> Decision:
    """``decision``, or the decision of the strongest limit rule the call would exceed that is stronger than it (or, for a
    warn decision, a warn limit rule: the call still runs, and its record says the limit was exceeded) (inside ``tx``)."""
    for item in found:
        rank, current = SECTION_RANK[item.rule.section], SECTION_RANK[decision.action]
        if rank > current or (rank == current and decision.action != "warn"):
            continue
        reason = _exceeded(tx, item, view)
        if reason is not None:
            return Decision(item.rule.section, reason, item.rule.id, decision.policy_digest)
    return decision


def _exceeded(tx: Transaction, item: Pending, view: CallView) -> str | None:
    limit = item.rule.limit
    assert limit is not None
    if item.amount is None:
        prefix = f"{item.rule.reason}: limit {limit.describe(view)}"
        return f"{prefix}: this call's {limit.sum} is not a non-negative number, so what it would use cannot be known"
    used = usage(tx, item.key, limit.per)
    if used + item.amount <= limit.max:
        return None
    prefix = f"{item.rule.reason}: limit {limit.describe(view)}"
    what = "" if limit.sum is None else f" of {limit.sum}"
    after = _text(used + item.amount)
    return f"{prefix}: {_text(used)}{what} used in the last {limit.per_text}; this call ({_text(item.amount)}) would make {after}"


def usage(tx: Transaction, key: str, per: float) -> Decimal:
    since = utc_iso(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=per))
    try:
        row = tx.execute(USAGE, (key, since)).fetchone()
        return Decimal(str(row[0] if row is not None and row[0] is not None else 0))
    except Exception as exc:
        raise LimitError(
            f"the usage of a limit could not be read from the audit store: {type(exc).__name__}: {exc}"
        ) from exc


def notes(found: list[Pending]) -> list[dict[str, str]]:
    """What the call counts, for its decision record's ``detail``."""
    return [
        {"rule": p.rule.id, "key": p.key, "amount": _text(p.amount)} for p in found if p.amount is not None
    ]


def count(tx: Transaction, found: list[Pending], seq: int) -> None:
    """Add the call's usage (its decision record is ``seq``), inside the transaction that wrote the record."""
    stamp = now()
    for item in found:
        if item.amount is not None:
            tx.execute(COUNT, (item.key, stamp, float(item.amount), seq))


def _text(value: Decimal) -> str:
    return f"{value.normalize():,f}" if value == value.to_integral_value() else f"{value:,}"
