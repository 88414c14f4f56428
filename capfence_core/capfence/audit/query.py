"""What to read from an audit log: :class:`Filters`, and the time expressions ``--since``/``--until`` take.

Filters are plain values, independent of the store: the SQLite reader turns
them into SQL (:func:`sql_where`); another store (PostgreSQL) translates the
same fields into its own query language.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from capfence.audit.layout import OLD_LAYOUT, Layout
from capfence.audit.timeorder import first_seq_at
from capfence.durations import parse_duration

DECISIONS = ("allow", "warn", "deny", "require_approval")


@dataclass(frozen=True)
class Filters:
    """Which decision records to read. Empty fields do not filter.

    ``agent``, ``capability`` and ``tool`` are globs (``*``, ``?``, ``[abc]``,
    case-sensitive) or exact names; ``since`` and ``until`` are UTC ISO 8601
    timestamps as stored in the ``ts`` column (``since`` inclusive, ``until``
    exclusive); ``after_seq`` keeps records with a larger sequence number; ``seq_ranges`` keeps records whose
    sequence number lies in one of its ranges (``(low, high)``: above ``low``, up to ``high``), what ``logs --follow``
    has not read yet of each chain (see :class:`~capfence.audit.reader.ChainHeads`).
    """

    decisions: tuple[str, ...] = ()
    agent: str | None = None
    capability: str | None = None
    tool: str | None = None
    since: str | None = None
    until: str | None = None
    after_seq: int | None = None
    seq_ranges: tuple[tuple[int, int], ...] = ()
    shadow: bool = False
    """Only decisions a shadow rule would have decided differently (their ``detail`` has ``"shadow"``)."""


SHADOW_LIKE = '%"shadow": {%'
"""How a record with a shadow verdict reads in SQL (``detail`` is JSON written with ``json.dumps``' separators)."""


def ranges_clause(ranges: tuple[tuple[int, int], ...], mark: str) -> str:
    """The SQL test of :attr:`Filters.seq_ranges` (``mark``: the driver's placeholder); two parameters per range."""
    return "(" + " OR ".join(f"(seq > {mark} AND seq <= {mark})" for _ in ranges) + ")"


def utc_iso(moment: dt.datetime) -> str:
    """``moment`` in the audit log's timestamp format (UTC, microseconds), comparable as text."""
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_when(text: str, now: dt.datetime | None = None) -> str:
    """A ``--since``/``--until`` value as a UTC timestamp.

    Accepts a duration back from now (``90``, ``30s``, ``15m``, ``1h``, ``2d``,
    ``1w``) or an ISO 8601 date/time (``2025-01-31``, ``2025-01-31T14:00``,
    ``2025-01-31T14:00:00Z``); a time without a zone is local time. Raises
    ``ValueError`` with an example otherwise.
    """
    value = text.strip()
    now = now or dt.datetime.now(dt.UTC)
    try:
        return utc_iso(now - dt.timedelta(seconds=parse_duration(value)))
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"invalid time {text!r}: use a duration such as 15m, 1h, 2d or an ISO time such as 2025-01-31T14:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # naive: the user's local time
    return utc_iso(moment)


def glob_to_sql(pattern: str) -> tuple[str, str]:
    """``(operator, operand)`` for a name pattern: ``=`` for a plain name, SQLite ``GLOB`` for a glob."""
    if not any(ch in pattern for ch in "*?["):
        return "=", pattern
    return "GLOB", pattern.replace("[!", "[^")


def indexed(filters: Filters) -> bool:
    """Whether an index in time order serves ``filters``: a decision, or an exact agent or capability."""
    return bool(filters.decisions) or any(
        pattern is not None and glob_to_sql(pattern)[0] == "="
        for pattern in (filters.agent, filters.capability)
    )


def newest_order(filters: Filters, *, seq_ordered: bool) -> str:
    """The ``ORDER BY`` terms of a newest-first read: ``seq`` on a time-ordered log unless a column's index serves it.

    On a log whose ``ts`` never goes backwards (:mod:`capfence.audit.timeorder`) both
    orders are the same; each is the one an index delivers without sorting.
    """
    return "seq DESC" if seq_ordered and not indexed(filters) else "ts DESC, seq DESC"


def sql_where(
    filters: Filters, *, newest_first: bool = False, layout: Layout = OLD_LAYOUT
) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (without the keyword) selecting decision records that pass ``filters``.

    ``newest_first`` shapes it for ``ORDER BY ts DESC LIMIT n``: the unary ``+``
    keeps SQLite from picking an index on ``kind`` or on a globbed column, which
    would sort every matching row, so it walks the timestamp index backwards and
    stops after ``n`` matches (a few ms instead of a second on a million rows). The same hint
    serves reads of every match in ``seq`` order: almost every record is a decision, so reading
    them through the ``kind`` index and sorting costs more than reading the table in key order.

    ``layout`` (:mod:`capfence.audit.layout`; the default: a log of schema 6 or older): on a log
    whose filter indexes hold decisions only, ``kind = 'decision'`` has no hint (no index starts
    with ``kind``, and the hint would hide those partial indexes from the planner); on a log with
    no ``ts`` index (:mod:`capfence.audit.timeorder`), unless a column's index serves the filters,
    ``since``/``until`` also bound ``seq``, found by a binary search over the primary key, so the
    read is a key range (newest first: :func:`newest_order`).
    """
    hint = "+" if newest_first else ""
    kind_hint = "" if filters.decisions or layout.decisions_only else hint
    clauses = [f"{kind_hint}kind = 'decision'"]
    params: list[object] = []
    if filters.decisions:
        clauses.append(f"decision IN ({', '.join('?' * len(filters.decisions))})")
        params.extend(filters.decisions)
    for column, pattern in (
        ("agent_id", filters.agent),
        ("capability", filters.capability),
        ("tool", filters.tool),
    ):
        if pattern is not None:
            op, operand = glob_to_sql(pattern)
            clauses.append(f"{hint if op == 'GLOB' else ''}{column} {op} ?")
            params.append(operand)
    by_seq = layout.seq_ordered and not indexed(filters)
    if filters.since is not None:
        clauses.append(f"ts >= ? AND seq >= {first_seq_at()}" if by_seq else "ts >= ?")
        params.extend([filters.since] * (2 if by_seq else 1))
    if filters.until is not None:
        clauses.append(f"ts < ? AND seq < {first_seq_at()}" if by_seq else "ts < ?")
        params.extend([filters.until] * (2 if by_seq else 1))
    if filters.after_seq is not None:
        clauses.append("seq > ?")
        params.append(filters.after_seq)
    if filters.seq_ranges:
        clauses.append(ranges_clause(filters.seq_ranges, "?"))
        params.extend(bound for seq_range in filters.seq_ranges for bound in seq_range)
    if filters.shadow:
        clauses.append("detail LIKE ?")
        params.append(SHADOW_LIKE)
    return " AND ".join(clauses), params
