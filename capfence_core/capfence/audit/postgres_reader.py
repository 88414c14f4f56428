"""Reading a PostgreSQL audit log: the :class:`~capfence.audit.reader.AuditReader` behind ``logs``, ``export``, ``verify``...

One connection per reader, in read-only mode (``default_transaction_read_only``),
never migrating anything. Large results stream through server-side cursors
(``itersize`` rows per round trip), each in its own short transaction, so an
export of ten million decisions holds one batch in memory, and ``logs
--follow`` sees new records on every poll. The queries are those of the
SQLite reader, written for the indexes created by
:mod:`capfence.audit.postgres_schema` (decisions by time, by decision, agent,
capability or tool and time; outcomes by the decision they refer to).

Order: a partitioned log (:mod:`capfence.audit.partitions`) has no single
sequence of records, so decisions (``logs``, ``export``, ``replay``, the
console) come in ``(ts, seq)`` order, the order of the timestamp indexes:
deterministic (``seq`` is unique and both are hashed), and the same as
``seq`` order for a log written as one chain, where ``ts`` never decreases
along ``seq``. ``after_seq`` (``logs --follow``) means after that record in
this order. :meth:`PostgresReader.records` (``verify``, ``export
--all-records``) keeps ``seq`` order: partition by partition, each chain in
its own order.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

from capfence.audit.partitions import KIND as CROSSLINK
from capfence.audit.partitions import STRIDE
from capfence.audit.postgres_schema import (
    HEADS,
    INSTALL_HINT,
    SCHEMA_VERSION,
    connect_kwargs,
    glob_regex,
    parse_location,
    partition_head,
)
from capfence.audit.query import SHADOW_LIKE, Filters, ranges_clause
from capfence.audit.reader import CALL_FIELDS, Record
from capfence.errors import AuditError

ITERSIZE = 5000
PARTITIONED = 5
"""The schema version that brought partitioned chains and cross-links."""
_LINKED_OUTCOME = (
    "(SELECT o.outcome FROM records o WHERE o.ref = r.seq AND o.kind = 'outcome' ORDER BY o.seq DESC LIMIT 1)"
    " AS linked_outcome"
)
_NAMES = itertools.count()


def pg_where(filters: Filters) -> tuple[str, list[object]]:
    """The ``WHERE`` clause (without the keyword) selecting decision records that pass ``filters`` (psycopg placeholders)."""
    clauses = ["kind = 'decision'"]
    params: list[object] = []
    if len(filters.decisions) == 1:  # "=" lets the (decision, ts, seq) index deliver the newest rows in order
        clauses.append("decision = %s")
        params.append(filters.decisions[0])
    elif filters.decisions:
        clauses.append("decision = ANY(%s)")
        params.append(list(filters.decisions))
    for column, pattern in (
        ("agent_id", filters.agent),
        ("capability", filters.capability),
        ("tool", filters.tool),
    ):
        if pattern is None:
            continue
        if any(ch in pattern for ch in "*?["):
            clauses.append(f"{column} ~ %s")
            params.append(glob_regex(pattern))
        else:
            clauses.append(f"{column} = %s")
            params.append(pattern)
    for clause, value in (
        ("ts >= %s", filters.since),
        ("ts < %s", filters.until),
        ("(ts, seq) > (SELECT a.ts, a.seq FROM records a WHERE a.seq = %s)", filters.after_seq),
    ):
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if filters.seq_ranges:
        clauses.append(ranges_clause(filters.seq_ranges, "%s"))
        params.extend(bound for seq_range in filters.seq_ranges for bound in seq_range)
    if filters.shadow:
        clauses.append("detail LIKE %s")
        params.append(SHADOW_LIKE)
    return " AND ".join(clauses), params


class PostgresReader:
    """:class:`~capfence.audit.reader.AuditReader` over a PostgreSQL audit log."""

    def __init__(self, location: str) -> None:
        try:
            import psycopg
        except ImportError:
            raise AuditError(
                f"cannot read a PostgreSQL audit log: psycopg is not installed ({INSTALL_HINT})"
            ) from None
        self._psycopg = psycopg
        settings = parse_location(location)
        self.location = settings.display
        try:
            self._conn = psycopg.connect(
                settings.conninfo, autocommit=True, **connect_kwargs(settings, writer=False)
            )
        except psycopg.Error as exc:
            raise AuditError(f"cannot open audit log {self.location}: {' '.join(str(exc).split())}") from exc
        self._probe()

    def _probe(self) -> None:
        try:
            row = self._conn.execute("SELECT max(version) FROM schema_version").fetchone()
        except self._psycopg.errors.UndefinedTable:
            self._conn.close()
            raise AuditError(
                f"{self.location} holds no CapFence audit log (it is created by the first decision written to it)"
            ) from None
        except self._psycopg.Error as exc:
            self._conn.close()
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc
        version = int(row[0]) if row and row[0] is not None else 0
        self._version = version
        if version > SCHEMA_VERSION:
            self._conn.close()
            raise AuditError(
                f"audit log schema v{version} is newer than this CapFence (v{SCHEMA_VERSION}); upgrade capfence"
            )

    # --- AuditReader ---------------------------------------------------------------------
    def decisions(self, filters: Filters, *, limit: int | None = None) -> Iterator[Record]:
        where, params = pg_where(filters)
        if limit is not None:  # the linked outcome is looked up for the newest rows only, after the limit
            newest = f"SELECT * FROM records WHERE {where} ORDER BY ts DESC, seq DESC LIMIT %s"
            sql = f"SELECT r.*, {_LINKED_OUTCOME} FROM ({newest}) AS r ORDER BY ts, seq"
            return self._stream(sql, [*params, limit], dicts=True)
        return self._stream(
            f"SELECT r.*, {_LINKED_OUTCOME} FROM records r WHERE {where} ORDER BY ts, seq", params, dicts=True
        )

    def summary(self, filters: Filters) -> list[Record]:
        where, params = pg_where(filters)
        sql = (
            "SELECT capability, decision, rule, (CASE WHEN reason LIKE 'internal_error:%%' THEN 1 ELSE 0 END) AS failed,"
            f" COUNT(*) AS calls, MIN(ts) AS first, MAX(ts) AS last FROM records WHERE {where}"
            " GROUP BY capability, decision, rule, failed ORDER BY capability, calls DESC"
        )
        return list(self._stream(sql, params, dicts=True))

    def calls(self, filters: Filters) -> Iterator[tuple[Any, ...]]:
        where, params = pg_where(filters)
        return self._stream(
            f"SELECT {', '.join(CALL_FIELDS)} FROM records WHERE {where} ORDER BY ts, seq",
            params,
            dicts=False,
        )

    def records(self) -> Iterator[Record]:
        return self._stream("SELECT * FROM records ORDER BY seq", [], dicts=True)

    def head(self) -> tuple[int, str] | None:
        """The newest cross-link (which pins every partition's head) or, in a log without any, the last record."""
        row = None
        if self._version >= PARTITIONED:  # (an older log has no cross-links, nor their index)
            row = self._one(
                f"SELECT seq, hash FROM records WHERE kind = '{CROSSLINK}' ORDER BY ts DESC, seq DESC LIMIT 1",
                [],
            )
        if row is None:
            row = self._one("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1", [])
        return (int(row[0]), str(row[1])) if row is not None else None

    def heads(self) -> dict[int, int]:
        """The last sequence number of each chain: partition 0 (the single chain of a log written without partitions,
        or before them) and every partition registered. Within one chain, records commit in ``seq`` order."""
        found: dict[int, int] = {}
        if self._version < PARTITIONED:  # a writer may migrate the log while it is being followed
            row = self._one("SELECT max(version) FROM schema_version", [])
            self._version = max(self._version, int(row[0]) if row and row[0] is not None else 0)
        if self._version >= PARTITIONED:
            found = {int(part): int(seq) for part, seq, _ in self._stream(HEADS, [-1], dicts=False)}
        single = self._one(partition_head(0), [])
        if single is not None:
            found[0] = int(single[0])
        return found

    def hash_at(self, seq: int) -> str | None:
        """The hash of record ``seq``, if there is one (``verify`` checks cross-links with it)."""
        row = self._one("SELECT hash FROM records WHERE seq = %s", [seq])
        return str(row[0]) if row is not None else None

    def chain_mode(self) -> str:
        row = self._one("SELECT value FROM meta WHERE key = 'chain'", [])
        return str(row[0]) if row is not None else "sha256"

    def approvals(self) -> list[Record]:
        sql = (
            f"SELECT a.*, (SELECT max(seq) FROM records WHERE seq < {STRIDE}) AS head_seq"
            " FROM approvals a ORDER BY a.created, a.id"
        )
        # one statement: the rows and the head come from one snapshot; approval records are all in partition 0
        return list(self._stream(sql, [], dicts=True))

    def find_hash(self, value: str) -> int | None:
        row = self._one("SELECT seq FROM records WHERE hash = %s ORDER BY seq LIMIT 1", [value])
        return int(row[0]) if row is not None else None

    def newest_digest(self, filters: Filters) -> str | None:
        where, params = pg_where(filters)
        row = self._one(
            f"SELECT policy_digest FROM records WHERE {where} AND policy_digest IS NOT NULL"
            " ORDER BY ts DESC, seq DESC LIMIT 1",
            params,
        )
        return str(row[0]) if row is not None else None

    def policies(self) -> list[tuple[str, str | None, str]]:
        exists = self._one("SELECT to_regclass('policies') IS NOT NULL", [])
        if not exists or not exists[0]:
            return []
        rows = list(self._stream("SELECT digest, path, body FROM policies ORDER BY digest", [], dicts=False))
        return [(str(d), p, str(b)) for d, p, b in rows]

    def policy_text(self, digest: str) -> str | None:
        exists = self._one("SELECT to_regclass('policies') IS NOT NULL", [])
        if not exists or not exists[0]:
            return None  # an audit log written before policies were recorded
        row = self._one("SELECT body FROM policies WHERE digest = %s", [digest])
        return str(row[0]) if row is not None else None

    # --- plumbing ---------------------------------------------------------------------------
    def _one(self, sql: str, params: list[object]) -> tuple[Any, ...] | None:
        try:
            row: tuple[Any, ...] | None = self._conn.execute(sql, params).fetchone()
        except self._psycopg.Error as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc
        return row

    def _stream(self, sql: str, params: list[object], *, dicts: bool) -> Iterator[Any]:
        """Rows of ``sql`` through a server-side cursor, in a transaction of their own (checked when iteration starts)."""
        from psycopg.rows import dict_row, tuple_row

        try:
            factory: Any = dict_row if dicts else tuple_row
            with (
                self._conn.transaction(),
                self._conn.cursor(name=f"capfence_{next(_NAMES)}", row_factory=factory) as cur,
            ):
                cur.itersize = ITERSIZE
                cur.execute(sql, params)
                yield from cur
        except self._psycopg.Error as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
