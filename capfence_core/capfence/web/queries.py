"""The console's reads of decisions: a filtered page (keyset pagination) and one decision in full.

Pages are newest first and continue *before* the last sequence number shown
(``?before=SEQ``), never with ``OFFSET``: every page costs the same on a
log of any length. The cursor is ``(ts, seq) < (ts(SEQ), SEQ)``, written
``ts <= ts(SEQ) AND (ts < ts(SEQ) OR seq < SEQ)`` (a partitioned PostgreSQL log's
``seq`` does not follow time): a range on the timestamp column that the store's
indexes (``(kind, decision, ts)``, ``(agent_id, ts)``, ``(capability, ts)`` on
SQLite; their partial ``(…, ts, seq)`` counterparts on PostgreSQL) deliver
already ordered. On a SQLite log whose ``ts`` never goes backwards
(:mod:`capfence.audit.timeorder`) the same cursor is ``seq < SEQ``, a range on the
primary key. Either way a page reads about ``size`` rows.

Filters no index serves (``rule``, ``tool``, a glob on agent or capability)
would have to read the whole log when matches are rare. Those pages scan
backwards in slices of :data:`SLICE` sequence numbers (a primary-key range)
until the page is full or :data:`SCAN_BUDGET` seconds have passed; a page cut
short says how far back it searched and links to search on from there
(``Page.searched_to``), so no page ever takes more than about the budget.
On a partitioned PostgreSQL log those slices cover only the newest
partition's numbers first, so such pages search less of the log per budget.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from capfence.audit.chain import key_from_env, record_hash
from capfence.audit.partitions import STRIDE, partition_of
from capfence.audit.query import Filters, newest_order
from capfence.web.source import Row, Source

PAGE_SIZE = 50
SLICE = 20_000
SCAN_BUDGET = 0.2
"""Seconds a page with an unindexed filter may spend scanning before it answers with what it found."""
_LIST_COLUMNS = (
    "seq, ts, agent_id, framework, tool, capability, environment, decision, rule, reason,"
    " payload, payload_bytes, truncated, redacted"
)
_OUTCOME = (
    "(SELECT o.outcome FROM records o WHERE o.ref = n.seq AND o.kind = 'outcome' ORDER BY o.seq DESC LIMIT 1)"
)


@dataclass(frozen=True)
class DecisionQuery:
    """What the decisions page shows: ``filters`` plus an exact ``rule``, continuing before sequence number ``before``."""

    filters: Filters = field(default_factory=Filters)
    rule: str | None = None
    before: int | None = None


@dataclass
class Page:
    rows: list[Row]
    next_before: int | None
    """The ``before`` of the next (older) page, or None on the last page."""
    searched_to: int | None = None
    """Set when the scan budget ran out: records from this sequence number on were searched (``next_before`` goes on)."""


def _unindexed(query: DecisionQuery) -> bool:
    filters = query.filters
    globbed = any(p is not None and any(ch in p for ch in "*?[") for p in (filters.agent, filters.capability))
    return query.rule is not None or filters.tool is not None or globbed


def _before(clause: str, params: list[Any], ts: str, seq: int, seq_ordered: bool) -> tuple[str, list[Any]]:
    """``clause`` narrowed to the records before ``(ts, seq)`` in newest-first order."""
    if seq_ordered:  # ts never goes back along seq: before it is seq < SEQ, a range on the key
        return f"{clause} AND ts <= ? AND seq < ?", [*params, ts, seq]
    # (ts, seq) before the cursor's; the range on ts keeps the index (seq does not follow time across partitions)
    return f"{clause} AND ts <= ? AND (ts < ? OR seq < ?)", [*params, ts, ts, seq]


def decisions_page(source: Source, query: DecisionQuery, size: int = PAGE_SIZE) -> Page:
    """One page of decision records (newest first), each with its latest ``linked_outcome``."""
    clause, params = source.where(query.filters, newest_first=True)
    if query.rule is not None:
        clause, params = f"{clause} AND rule = ?", [*params, query.rule]
    if _unindexed(query):
        return _scanned_page(source, clause, params, query.before, size)
    if query.before is not None:
        cursor = source.one("SELECT ts FROM records WHERE seq = ?", [query.before])
        if cursor is None:
            return Page([], None)
        clause, params = _before(clause, params, cursor["ts"], query.before, source.layout().seq_ordered)
    order = newest_order(query.filters, seq_ordered=source.layout().seq_ordered)
    inner = f"SELECT {_LIST_COLUMNS} FROM records WHERE {clause} ORDER BY {order} LIMIT ?"
    rows = source.rows(
        f"SELECT n.*, {_OUTCOME} AS linked_outcome FROM ({inner}) n ORDER BY n.ts DESC, n.seq DESC",
        [*params, size + 1],
    )
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, int(rows[-1]["seq"]) if more and rows else None)


def _scanned_page(source: Source, clause: str, params: list[object], before: int | None, size: int) -> Page:
    """Fill a page slice by slice, newest first, within :data:`SCAN_BUDGET`."""
    deadline = time.monotonic() + SCAN_BUDGET
    if before is None:
        head = source.one("SELECT max(seq) AS head FROM records")
        before = int(head["head"] or 0) + 1 if head else 1
    rows: list[Row] = []
    upper = before
    while len(rows) <= size and upper > 1:
        lower = max(1, upper - SLICE)
        inner = f"SELECT {_LIST_COLUMNS} FROM records WHERE seq >= ? AND seq < ? AND {clause} ORDER BY seq DESC LIMIT ?"
        sql = f"SELECT n.*, {_OUTCOME} AS linked_outcome FROM ({inner}) n ORDER BY n.seq DESC"
        rows += source.rows(sql, [lower, upper, *params, size + 1 - len(rows)])
        upper = lower
        if time.monotonic() > deadline:
            break
    if len(rows) > size:
        return Page(rows[:size], int(rows[size - 1]["seq"]))
    if upper > 1:
        return Page(rows, upper, searched_to=upper)
    return Page(rows, None)


@dataclass
class Detail:
    """One record in full, with what hangs off it and where it sits in the chain."""

    record: Row
    outcomes: list[Row] = field(default_factory=list)
    approval: Row | None = None
    approval_events: list[Row] = field(default_factory=list)
    previous: Row | None = None
    following: Row | None = None
    head_seq: int = 0
    hash_ok: bool | None = None
    """Whether the record's hash recomputes from its fields and ``prev_hash`` (None: keyed chain, no key here)."""

    @property
    def linked_before(self) -> bool:
        return self.previous is None or self.previous["hash"] == self.record["prev_hash"]

    @property
    def linked_after(self) -> bool:
        return self.following is None or self.following["prev_hash"] == self.record["hash"]

    @property
    def approval_id(self) -> str | None:
        return approval_id(self.record)


def approval_id(record: Row) -> str | None:
    """The approval request a decision record filed or used (from its ``detail``)."""
    try:
        detail = json.loads(record.get("detail") or "{}")
    except ValueError:
        return None
    found = detail.get("approval_id") if isinstance(detail, dict) else None
    return found if isinstance(found, str) else None


def decision_detail(source: Source, seq: int) -> Detail | None:
    """The record ``seq`` with its outcomes, its approval request and events, and its chain neighbours."""
    record = source.one("SELECT * FROM records WHERE seq = ?", [seq])
    if record is None:
        return None
    detail = Detail(record)
    detail.outcomes = source.rows(
        "SELECT * FROM records WHERE ref = ? AND kind = 'outcome' ORDER BY seq", [seq]
    )
    detail.approval_events = source.rows(
        "SELECT * FROM records WHERE ref = ? AND kind = 'approval' ORDER BY seq", [seq]
    )
    request = detail.approval_id
    if request is not None:
        detail.approval = source.one("SELECT * FROM approvals WHERE id = ?", [request])
    # its neighbours in its own chain
    start, end = partition_of(seq) * STRIDE, (partition_of(seq) + 1) * STRIDE
    detail.previous = source.one(
        "SELECT seq, hash FROM records WHERE seq < ? AND seq > ? ORDER BY seq DESC LIMIT 1", [seq, start]
    )
    detail.following = source.one(
        "SELECT seq, prev_hash FROM records WHERE seq > ? AND seq < ? ORDER BY seq LIMIT 1", [seq, end]
    )
    head = source.one("SELECT max(seq) AS head FROM records")
    detail.head_seq = int(head["head"] or 0) if head else 0
    detail.hash_ok = _hash_ok(source, record)
    return detail


def _hash_ok(source: Source, record: Row) -> bool | None:
    mode = source.one("SELECT value FROM meta WHERE key = 'chain'")
    key = key_from_env()
    if mode is not None and mode["value"] == "hmac-sha256" and key is None:
        return None
    fields: dict[str, Any] = dict(record)
    keyed = key if key and mode and mode["value"] == "hmac-sha256" else None
    return record_hash(str(record["prev_hash"]), fields, keyed) == str(record["hash"])
