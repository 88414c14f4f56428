"""Read-only SQL access to the audit log for the console, on SQLite or PostgreSQL.

Every query the console runs is written once, with ``?`` placeholders, for the
indexes both stores already have; :class:`Source` runs it on the right
connection (one per thread, read-only) and :func:`where` builds the
``WHERE`` clause for :class:`~capfence.audit.query.Filters` in either dialect
(SQLite ``GLOB``, PostgreSQL an anchored regex). The console never writes
through a source: approvals go through :class:`~capfence.approvals.requests.Approvals`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from capfence.audit.layout import OLD_LAYOUT, Layout, layout
from capfence.audit.query import Filters, glob_to_sql, indexed, ranges_clause
from capfence.audit.reader import AuditReader, open_reader
from capfence.audit.timeorder import first_seq_at
from capfence.errors import AuditError

if TYPE_CHECKING:
    from capfence.contracts import StoreType

Row = dict[str, Any]


class Source:
    """Query one audit log (``location``: a SQLite path or a ``postgresql://`` URL)."""

    def __init__(self, location: str, stores: Sequence[StoreType] = ()) -> None:
        """``stores``: the store types that may read a URL (a plugin registry's ``stores``)."""
        self.location = location
        self.stores = stores
        self.postgres = location.startswith(("postgresql://", "postgres://"))
        self._local = threading.local()
        self._connections: list[Any] = []
        self._lock = threading.Lock()
        if not self.postgres:
            open_reader(
                location, stores
            ).close()  # a missing file or a file that is not an audit log is an error now

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Every row of ``sql`` as a dict. Raises :class:`AuditError`."""
        conn = self._connection()
        try:
            if self.postgres:
                from capfence.audit.postgres import qmark_to_pyformat

                cursor = conn.execute(qmark_to_pyformat(sql), list(params))
            else:
                cursor = conn.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except Exception as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc

    def tuples(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Every row of ``sql`` as a tuple (cheaper than :meth:`rows` for large reads). Raises :class:`AuditError`."""
        conn = self._connection()
        try:
            if self.postgres:
                from capfence.audit.postgres import qmark_to_pyformat

                return [tuple(row) for row in conn.execute(qmark_to_pyformat(sql), list(params)).fetchall()]
            return list(conn.execute(sql, list(params)).fetchall())
        except Exception as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc

    def one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def reader(self) -> AuditReader:
        """A new reader of the log (the caller closes it), for verify and replay."""
        return open_reader(self.location, self.stores)

    def where(self, filters: Filters, *, newest_first: bool = False) -> tuple[str, list[object]]:
        """The clause (no ``WHERE`` keyword) for decision records passing ``filters``, in this source's dialect."""
        return where(filters, postgres=self.postgres, newest_first=newest_first, layout=self.layout())

    def layout(self) -> Layout:
        """How the SQLite log is indexed (:mod:`capfence.audit.layout`; PostgreSQL: the default, unused).

        Asked on each page, so a log migrated while the console runs is read the new way at once.
        """
        if self.postgres:
            return OLD_LAYOUT
        try:
            return layout(self._connection())
        except Exception as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def _open(self) -> Any:
        if self.postgres:
            import psycopg

            from capfence.audit.postgres_schema import connect_kwargs, parse_location

            settings = parse_location(self.location)
            return psycopg.connect(
                settings.conninfo, autocommit=True, **connect_kwargs(settings, writer=False)
            )
        from capfence.audit.sqlite import connect

        conn = connect(self.location, readonly=True)
        conn.row_factory = None
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


def where(
    filters: Filters, *, postgres: bool, newest_first: bool = False, layout: Layout = OLD_LAYOUT
) -> tuple[str, list[object]]:
    """``kind = 'decision'`` plus one clause per filter (``rule`` and ``tool`` are exact; the others may be globs).

    ``newest_first`` (SQLite): the unary ``+`` keeps the planner off the ``kind``
    index and off globbed columns, so an ``ORDER BY ts DESC LIMIT n`` walks the
    timestamp (or agent/capability/decision) index backwards and stops after ``n``.
    ``layout`` (SQLite): as in :func:`~capfence.audit.query.sql_where`, no hint on ``kind`` where the
    filter indexes hold decisions only, and time bounds also bound ``seq`` on a log with no ``ts`` index.
    """
    by_seq = layout.seq_ordered and not postgres and not indexed(filters)
    hint = "+" if newest_first and not postgres else ""
    clauses = [f"{'' if filters.decisions or layout.decisions_only else hint}kind = 'decision'"]
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
            clause, operand = _match(column, pattern, postgres, hint)
            clauses.append(clause)
            params.append(operand)
    for clause, value, bound in (
        ("ts >= ?", filters.since, f"seq >= {first_seq_at()}"),
        ("ts < ?", filters.until, f"seq < {first_seq_at()}"),
        ("seq > ?", filters.after_seq, None),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
            if by_seq and bound is not None:
                clauses.append(bound)
                params.append(value)
    if filters.seq_ranges:
        clauses.append(ranges_clause(filters.seq_ranges, "?"))
        params.extend(bound for seq_range in filters.seq_ranges for bound in seq_range)
    return " AND ".join(clauses), params


def _match(column: str, pattern: str, postgres: bool, hint: str) -> tuple[str, str]:
    op, operand = glob_to_sql(pattern)
    if op == "=":
        return f"{column} = ?", operand
    if postgres:
        from capfence.audit.postgres_schema import glob_regex

        return f"{column} ~ ?", glob_regex(pattern)
    return f"{hint}{column} GLOB ?", operand
