"""Reading an audit log: the :class:`AuditReader` interface and the SQLite reader.

Every command that reads the log (``logs``, ``export``, ``replay``,
``suggest``, ``verify``, ``checkpoint``) goes through :func:`open_reader`, so
another store plugs in by providing a reader: a store type registered with
``capfence_register_audit_stores`` whose :class:`~capfence.contracts.StoreType`
object has an ``open_reader(location)`` attribute is used for the locations it
``accepts`` (the PostgreSQL store will be one). SQLite paths (and
``sqlite:///path``) are read here.

Readers never write. The SQLite reader opens the file with ``mode=ro``
(and, for a read-only file whose write-ahead log is empty, ``immutable=1``),
so a missing file is an error rather than a new empty database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from capfence.audit.layout import layout
from capfence.audit.query import Filters, newest_order, sql_where
from capfence.errors import AuditError

if TYPE_CHECKING:
    from capfence.contracts import StoreType

Record = dict[str, Any]
CALL_FIELDS = (
    "seq",
    "capability",
    "payload",
    "agent_id",
    "environment",
    "tool",
    "decision",
    "truncated",
    "redacted",
)
"""Field order of the tuples :meth:`AuditReader.calls` yields."""


class AuditReader(Protocol):
    """Read access to one audit log."""

    location: str

    def decisions(self, filters: Filters, *, limit: int | None = None) -> Iterator[Record]:
        """Decision records passing ``filters``, oldest first, every column plus ``outcome`` (the latest linked outcome).

        With ``limit``, only the newest ``limit`` records (still yielded oldest first).
        """
        ...

    def summary(self, filters: Filters) -> list[Record]:
        """Counts grouped by capability, decision, rule and whether the decision was an internal failure.

        Keys: ``capability, decision, rule, failed, calls, first, last``.
        """
        ...

    def calls(self, filters: Filters) -> Iterator[tuple[Any, ...]]:
        """Decision records as tuples of :data:`CALL_FIELDS`, in sequence order (fast path for replay)."""
        ...

    def records(self) -> Iterator[Record]:
        """Every record of every kind, in sequence order, with every column (for ``verify``)."""
        ...

    def head(self) -> tuple[int, str] | None:
        """``(seq, hash)`` of the last record, or ``None`` for an empty log."""
        ...

    def chain_mode(self) -> str:
        """``sha256`` or ``hmac-sha256``, as recorded in the log."""
        ...

    def approvals(self) -> list[Record]:
        """Every row of the approval queue, each with ``head_seq``: the last record's seq, read in the same statement (for ``verify``)."""
        ...

    def newest_digest(self, filters: Filters) -> str | None:
        """The policy digest of the newest decision that passes ``filters`` (the policy in force when it was made)."""
        ...

    def policy_text(self, digest: str) -> str | None:
        """The recorded text of the policy with this digest (:mod:`capfence.policy.recorded`), if the log has it."""
        ...

    def find_hash(self, value: str) -> int | None:
        """The sequence number of the record whose ``hash`` is ``value``, if any (slow: used once, to explain a broken link)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@runtime_checkable
class ChainHeads(Protocol):
    """Optional for a reader: where each of the log's chains ends now, so ``logs --follow`` reads exactly what was
    committed since (:attr:`~capfence.audit.query.Filters.seq_ranges`), chain by chain.

    A partitioned PostgreSQL log has one chain per partition; records of different partitions commit in no
    particular order of ``ts``, so a record stamped before the last one shown may commit after it: following by
    ``(ts, seq)`` would miss it. Within one chain records commit in ``seq`` order. A reader without this is
    followed by ``after_seq`` (which is exact for a log of one chain).
    """

    def heads(self) -> dict[int, int]:
        """Chain (partition) -> its last sequence number; a log with no record: ``{}``."""
        ...


def open_reader(location: str, types: Iterable[StoreType] = ()) -> AuditReader:
    """A reader for ``location`` (a path, ``sqlite:///path``, or a URL one of ``types`` reads). Raises :class:`AuditError`.

    ``types``: the store types that may read a URL (a plugin registry's ``stores``).
    """
    if location.startswith("sqlite:///"):
        return SQLiteReader(location[len("sqlite:///") :])
    if "://" in location:
        return _plugin_reader(location, types)
    return SQLiteReader(location)


def _plugin_reader(location: str, types: Iterable[StoreType]) -> AuditReader:
    for kind in types:
        opener = kind.open_reader
        if opener is not None and kind.accepts(location):
            reader: AuditReader = opener(location)
            return reader
    scheme = location.split("://", 1)[0]
    raise AuditError(
        f"cannot read audit log {location!r}: no installed audit store reads {scheme}:// locations"
    )


_LINKED_OUTCOME = (
    "(SELECT o.outcome FROM records o WHERE o.ref = n.seq AND o.kind = 'outcome' ORDER BY o.seq DESC LIMIT 1)"
)
_NEWEST = (
    f"SELECT n.*, {_LINKED_OUTCOME} AS linked_outcome "
    "FROM (SELECT * FROM records WHERE {where} ORDER BY {order} LIMIT ?) n ORDER BY ts, seq"
)
_ALL = f"SELECT n.*, {_LINKED_OUTCOME} AS linked_outcome FROM records n WHERE {{where}} ORDER BY seq"
_APPROVALS = (
    "SELECT a.*, (SELECT max(seq) FROM records) AS head_seq FROM approvals a ORDER BY a.created, a.id"
)
"""One statement, so the rows and the head come from one snapshot."""


class SQLiteReader:
    """:class:`AuditReader` over one SQLite file, opened read-only."""

    def __init__(self, path: str | Path) -> None:
        self.location = str(path)
        self._conn = _connect_readonly(Path(path))
        self._layout = layout(self._conn)

    def _where(self, filters: Filters) -> tuple[str, list[object]]:
        return sql_where(filters, newest_first=True, layout=self._layout)

    def decisions(self, filters: Filters, *, limit: int | None = None) -> Iterator[Record]:
        where, params = self._where(filters)
        if limit is not None:
            order = newest_order(filters, seq_ordered=self._layout.seq_ordered)
            return self._dicts(_NEWEST.format(where=where, order=order), [*params, limit])
        # the hint also keeps a scan in seq order off the kind index
        return self._dicts(_ALL.format(where=where), params)

    def summary(self, filters: Filters) -> list[Record]:
        where, params = self._where(filters)
        sql = (
            "SELECT capability, decision, rule, reason LIKE 'internal_error:%' AS failed, COUNT(*) AS calls, "
            f"MIN(ts) AS first, MAX(ts) AS last FROM records WHERE {where} "
            "GROUP BY capability, decision, rule, failed ORDER BY capability, calls DESC"
        )
        return list(self._dicts(sql, params))

    def calls(self, filters: Filters) -> Iterator[tuple[Any, ...]]:
        where, params = self._where(filters)
        cursor = self._execute(
            f"SELECT {', '.join(CALL_FIELDS)} FROM records WHERE {where} ORDER BY seq", params
        )
        cursor.row_factory = None
        return iter(cursor)

    def records(self) -> Iterator[Record]:
        return self._dicts("SELECT * FROM records ORDER BY seq", [])

    def head(self) -> tuple[int, str] | None:
        row = self._execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1", []).fetchone()
        return (int(row[0]), str(row[1])) if row is not None else None

    def heads(self) -> dict[int, int]:
        """One chain: its last sequence number (appends are serialized, so records commit in ``seq`` order)."""
        head = self.head()
        return {0: head[0]} if head is not None else {}

    def chain_mode(self) -> str:
        try:
            row = self._execute("SELECT value FROM meta WHERE key = 'chain'", []).fetchone()
        except AuditError:
            return "sha256"
        return str(row[0]) if row is not None else "sha256"

    def approvals(self) -> list[Record]:
        if (
            self._execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'approvals'", []
            ).fetchone()
            is None
        ):
            return []
        return list(self._dicts(_APPROVALS, []))

    def find_hash(self, value: str) -> int | None:
        row = self._execute("SELECT seq FROM records WHERE hash = ? ORDER BY seq LIMIT 1", [value]).fetchone()
        return int(row[0]) if row is not None else None

    def newest_digest(self, filters: Filters) -> str | None:
        # walk back from the head, not sort every decision
        where, params = self._where(filters)
        row = self._execute(
            f"SELECT policy_digest FROM records WHERE {where} AND policy_digest IS NOT NULL ORDER BY seq DESC LIMIT 1",
            params,
        ).fetchone()
        return str(row[0]) if row is not None else None

    def policies(self) -> list[tuple[str, str | None, str]]:
        if (
            self._execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'policies'", []
            ).fetchone()
            is None
        ):
            return []
        return [
            (str(d), p, str(b))
            for d, p, b in self._execute("SELECT digest, path, body FROM policies ORDER BY digest", [])
        ]

    def policy_text(self, digest: str) -> str | None:
        if (
            self._execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'policies'", []
            ).fetchone()
            is None
        ):
            return None  # an audit log written before policies were recorded
        row = self._execute("SELECT body FROM policies WHERE digest = ?", [digest]).fetchone()
        return str(row[0]) if row is not None else None

    def _execute(self, sql: str, params: list[object]) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc

    def _dicts(self, sql: str, params: list[object]) -> Iterator[Record]:
        cursor = self._execute(sql, params)
        names = [d[0] for d in cursor.description]
        try:
            for row in cursor:
                yield dict(zip(names, row, strict=True))
        except sqlite3.Error as exc:
            raise AuditError(f"cannot read audit log {self.location}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise AuditError(f"audit log {path} does not exist (pass --audit-log PATH or set CAPFENCE_AUDIT_LOG)")
    if not path.is_file():
        raise AuditError(f"audit log {path} is not a file")
    try:
        return _probe(
            sqlite3.connect(path.absolute().as_uri() + "?mode=ro", uri=True, check_same_thread=False), path
        )
    except sqlite3.OperationalError as exc:
        if not _can_open_immutable(path):
            raise AuditError(f"cannot open audit log {path}: {exc}") from exc
    try:  # a read-only file in WAL mode whose -shm cannot be created: nothing else can be writing it
        return _probe(
            sqlite3.connect(
                path.absolute().as_uri() + "?mode=ro&immutable=1", uri=True, check_same_thread=False
            ),
            path,
        )
    except sqlite3.Error as exc:
        raise AuditError(f"cannot open audit log {path}: {exc}") from exc


def _probe(conn: sqlite3.Connection, path: Path) -> sqlite3.Connection:
    conn.execute("PRAGMA busy_timeout = 5000")
    try:
        conn.execute("SELECT seq, kind, hash FROM records LIMIT 1").fetchall()
    except sqlite3.DatabaseError as exc:
        conn.close()
        if isinstance(exc, sqlite3.OperationalError) and "no such" not in str(exc):
            raise
        raise AuditError(f"{path} is not a CapFence audit log ({exc})") from exc
    return conn


def _can_open_immutable(path: Path) -> bool:
    wal = path.with_name(path.name + "-wal")
    return not wal.exists() or wal.stat().st_size == 0
