"""Time order in the SQLite audit log: where ``ts`` never decreases along ``seq``, a time range is a ``seq`` range.

The store stamps each record with :func:`~capfence.audit.record.commit_time` while it
holds the chain's head, so ``ts`` is non-decreasing along ``seq`` in every log it
writes. Such a log needs no index on ``ts``: the newest records are the last ``seq``
numbers, and the first record at or after a time is found by a binary search over the
primary key (about 20 row look-ups on a million rows, :func:`first_seq_at`). Dropping
that index saves every decision one index entry (about a sixth of the audit write).

A log whose ``ts`` goes backwards somewhere (records written before commit-time
stamping, or imported from such a log) keeps :data:`TIME_INDEX`; its presence is what
tells a reader which kind of log it reads (:func:`seq_ordered`), and readers order and
bound such a log by ``ts`` as before. Both give the same rows in the same order on a
time-ordered log.
"""

from __future__ import annotations

import sqlite3

TIME_INDEX = "records_ts"
CREATE_TIME_INDEX = f"CREATE INDEX IF NOT EXISTS {TIME_INDEX} ON records(ts)"
_GOES_BACK = (
    "SELECT 1 FROM records a JOIN records b ON b.seq = a.seq + 1 WHERE a.seq >= ? AND b.ts < a.ts LIMIT 1"
)
"""A record earlier than the one just before it (a self-join on the key: a window function took 5x as long)."""
_GAPS = "SELECT count(*) != coalesce(max(seq) - min(seq) + 1, 0) FROM records WHERE seq >= ?"
_HAS_TIME_INDEX = f"SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = '{TIME_INDEX}'"


def first_seq_at(placeholder: str = "?") -> str:
    """A scalar subquery: the smallest ``seq`` whose record has ``ts >= placeholder`` (one past the last if none).

    A lower-bound binary search over the primary key, written as a recursive CTE so
    it stays one SQL clause (``seq >= (…)`` selects exactly the records with ``ts >=``
    the bound, ``seq < (…)`` those before it). ``f(m)``, the ``ts`` of the first record
    with ``seq >= m``, is non-decreasing in ``m`` on a time-ordered log, gaps in ``seq``
    included; past the last record it is NULL, read as "at or after". An empty log
    gives NULL, which selects nothing (there is nothing to select).
    """
    probe = "(SELECT ts FROM records WHERE seq >= (lo + hi) / 2 ORDER BY seq LIMIT 1)"
    return (
        "(WITH RECURSIVE b(lo, hi, at) AS ("
        f"SELECT (SELECT min(seq) FROM records), (SELECT max(seq) FROM records) + 1, {placeholder} "
        f"UNION ALL SELECT CASE WHEN {probe} < at THEN (lo + hi) / 2 + 1 ELSE lo END, "
        f"CASE WHEN {probe} < at THEN hi ELSE (lo + hi) / 2 END, at FROM b WHERE lo < hi"
        ") SELECT max(lo) FROM b)"
    )


def seq_ordered(conn: sqlite3.Connection) -> bool:
    """Whether the log on ``conn`` is time-ordered (it has no :data:`TIME_INDEX`): read it by ``seq``."""
    return conn.execute(_HAS_TIME_INDEX).fetchone() is None


def goes_back(conn: sqlite3.Connection, from_seq: int = 0) -> bool:
    """Whether some record from ``from_seq`` on has a ``ts`` earlier than the one before it (a scan of those records).

    A log with a gap in ``seq`` (a record deleted: ``verify`` reports it) counts as going back, since the
    pairs ``(n, n + 1)`` compared here would skip the gap.
    """
    if conn.execute(_GAPS, (from_seq,)).fetchone()[0]:
        return True
    return conn.execute(_GOES_BACK, (from_seq,)).fetchone() is not None


def keep_time_order(conn: sqlite3.Connection, first_seq: int) -> None:
    """After records from ``first_seq`` on were written with a ``ts`` of their own (an import, in its transaction):
    if ``ts`` goes backwards there, a time-ordered log gets :data:`TIME_INDEX` back and is read by ``ts`` from then on."""
    if seq_ordered(conn) and goes_back(conn, first_seq - 1):
        conn.execute(CREATE_TIME_INDEX)


def drop_time_index_if_ordered(conn: sqlite3.Connection) -> None:
    """Schema step 7: a log whose ``ts`` never goes backwards drops :data:`TIME_INDEX`; another keeps it."""
    if not seq_ordered(conn) and not goes_back(conn):
        conn.execute(f"DROP INDEX IF EXISTS {TIME_INDEX}")
