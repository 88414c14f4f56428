"""The default audit store: one SQLite file in WAL mode.

Appends are serialized across threads by a lock and across processes by
``BEGIN IMMEDIATE``; inside that transaction the writer reads the chain head
and inserts the next record, so many processes writing one file produce a
single unbroken chain. The record is committed before :meth:`append`
returns. ``synchronous=NORMAL`` (the WAL default) survives a crash of the
writing process; set ``CAPFENCE_AUDIT_SYNC=full`` to also survive power loss
at the cost of an fsync per decision.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from capfence.audit.chain import GENESIS, HASHED_FIELDS, chain_mode, key_from_env, values_hash
from capfence.errors import AuditError

SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 5000

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS records (
        seq INTEGER PRIMARY KEY,
        ts TEXT NOT NULL,
        kind TEXT NOT NULL,
        agent_id TEXT, framework TEXT, tool TEXT, capability TEXT, environment TEXT,
        payload TEXT, payload_sha256 TEXT, payload_bytes INTEGER,
        truncated INTEGER NOT NULL DEFAULT 0, redacted INTEGER NOT NULL DEFAULT 0,
        decision TEXT, rule TEXT, reason TEXT, policy_digest TEXT,
        ref INTEGER, outcome TEXT, detail TEXT,
        prev_hash TEXT NOT NULL, hash TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS records_ts ON records(ts);
    CREATE INDEX IF NOT EXISTS records_decision ON records(kind, decision, ts);
    CREATE INDEX IF NOT EXISTS records_agent ON records(agent_id, ts);
    CREATE INDEX IF NOT EXISTS records_capability ON records(capability, ts);
    CREATE INDEX IF NOT EXISTS records_ref ON records(ref);
    """,
    2: """
    CREATE TABLE IF NOT EXISTS approvals (
        id TEXT PRIMARY KEY,
        created TEXT NOT NULL, expires TEXT NOT NULL,
        agent_id TEXT, framework TEXT, tool TEXT, capability TEXT NOT NULL,
        payload TEXT NOT NULL, digest TEXT NOT NULL, policy_digest TEXT, rule TEXT,
        status TEXT NOT NULL, decided_by TEXT, decided_at TEXT, comment TEXT,
        consumed_at TEXT, decision_seq INTEGER
    );
    CREATE INDEX IF NOT EXISTS approvals_digest ON approvals(digest, status);
    CREATE INDEX IF NOT EXISTS approvals_status ON approvals(status, expires);
    """,
    3: """
    CREATE INDEX IF NOT EXISTS records_call ON records(detail) WHERE kind = 'decision' AND detail IS NOT NULL;
    """,
}

COLUMNS = (
    "seq", "ts", "kind", "agent_id", "framework", "tool", "capability", "environment",
    "payload", "payload_sha256", "payload_bytes", "truncated", "redacted",
    "decision", "rule", "reason", "policy_digest", "ref", "outcome", "detail", "prev_hash", "hash",
)
assert (*HASHED_FIELDS, "prev_hash", "hash") == COLUMNS, "the insert relies on this order"
_INSERT = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_SAME_DECISION_FIELDS = (
    "agent_id", "framework", "tool", "capability", "environment", "payload_sha256", "decision", "rule", "reason", "policy_digest",
)
_FIND_DECISION = (
    "SELECT seq FROM records WHERE kind = 'decision' AND detail = ? AND "
    + " AND ".join(f"{name} IS ?" for name in _SAME_DECISION_FIELDS)
    + " ORDER BY seq DESC LIMIT 1"
)


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    """A connection with our pragmas. Read-only connections never create or change the file."""
    if readonly:
        conn = sqlite3.connect(f"file:{Path(path).absolute()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.row_factory = sqlite3.Row
    return conn


def enable_wal(conn: sqlite3.Connection, timeout: float = BUSY_TIMEOUT_MS / 1000) -> None:
    """Put the file in WAL mode, waiting up to ``timeout`` seconds for other writers.

    Switching a file's journal mode needs an exclusive lock, and SQLite answers
    a busy switch at once instead of calling the busy handler, so processes that
    open a new audit log together would fail here without this retry loop.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def migrate(conn: sqlite3.Connection, key: bytes | None) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`; record and check the chain mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise AuditError(f"audit log schema v{version} is newer than this CapFence (v{SCHEMA_VERSION}); upgrade capfence")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            _run_script(conn, _MIGRATIONS[step])
            conn.execute(f"PRAGMA user_version = {step}")
        mode = chain_mode(key)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('chain', ?)", (mode,))
        stored = conn.execute("SELECT value FROM meta WHERE key = 'chain'").fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if stored != mode:
        hint = "set CAPFENCE_AUDIT_KEY" if stored == "hmac-sha256" else "unset CAPFENCE_AUDIT_KEY or use a new audit log"
        raise AuditError(f"audit log chain uses {stored} but this process is configured for {mode}: {hint}")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


class SQLiteStore:
    """Append-only, hash-chained audit records in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, key: bytes | None = None) -> None:
        self.location = str(path)
        self.key = key if key is not None else key_from_env()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._head: tuple[int, str] | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            conn = connect(self.location)
            sync = "FULL" if os.environ.get("CAPFENCE_AUDIT_SYNC", "").lower() == "full" else "NORMAL"
            conn.execute(f"PRAGMA synchronous = {sync}")
            try:
                enable_wal(conn)
                migrate(conn, self.key)
            except BaseException:
                conn.close()
                raise
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def append(self, record: Mapping[str, object]) -> int:
        """Chain and commit ``record``; return its sequence number. Raises :class:`AuditError`."""
        try:
            with self._lock:
                return self._append(self._connection(), record)
        except AuditError:
            raise
        except (sqlite3.Error, OSError) as exc:
            self._reset()
            raise AuditError(f"cannot write audit log {self.location}: {exc}") from exc

    def _append(self, conn: sqlite3.Connection, record: Mapping[str, object]) -> int:
        """Insert the next record of the chain.

        Fast path: we remember the head (seq, hash) we last saw and insert
        ``seq + 1`` in one autocommit statement. If another writer appended in
        the meantime, row ``seq + 1`` already exists and the primary key
        rejects ours, so a record can never be chained to a stale head; we
        then take the write lock, read the real head and insert under it.
        """
        if self._head is not None:
            try:
                return self._insert(conn, record, *self._head)
            except sqlite3.IntegrityError:
                pass
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
            seq = self._insert(conn, record, *((head[0], head[1]) if head else (0, GENESIS)))
            conn.execute("COMMIT")
        except BaseException:
            self._head = None
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return seq

    def _insert(self, conn: sqlite3.Connection, record: Mapping[str, object], last_seq: int, last_hash: str) -> int:
        row = {"truncated": 0, "redacted": 0, **record, "seq": last_seq + 1}
        values = [row.get(name) for name in HASHED_FIELDS]
        digest = values_hash(last_hash, values, self.key)
        conn.execute(_INSERT, [*values, last_hash, digest])
        self._head = (last_seq + 1, digest)
        return last_seq + 1

    def append_decision_once(self, record: Mapping[str, object]) -> int:
        """Append a decision record unless the log already holds the same decision for the same call.

        "The same call" is the call id carried in ``detail``; "the same decision"
        means every field but the timestamp is equal. Returns the sequence number
        of the record written or found. Lookup and append share one write
        transaction, so concurrent re-runs of one call cannot both write.
        """
        if not record.get("detail"):
            return self.append(record)
        with self.transaction() as tx:
            return tx.append_decision_once(record)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (``BEGIN IMMEDIATE``): state changes and their audit records commit together."""
        try:
            with self._lock:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Transaction(self, conn)
                    conn.execute("COMMIT")
                except BaseException:
                    self._head = None
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        except (sqlite3.Error, OSError) as exc:
            self._reset()
            raise AuditError(f"cannot write audit log {self.location}: {exc}") from exc

    def _reset(self) -> None:
        with self._lock:
            if self._conn is not None:
                with suppress(sqlite3.Error):
                    self._conn.close()
            self._conn = None
            self._head = None

    def close(self) -> None:
        self._reset()


class Transaction:
    """A write transaction on a :class:`SQLiteStore`: run SQL and append chained records."""

    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection) -> None:
        self.store, self.conn = store, conn

    def execute(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def append(self, record: Mapping[str, object]) -> int:
        head = self.conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return self.store._insert(self.conn, record, *((head[0], head[1]) if head else (0, GENESIS)))

    def append_decision_once(self, record: Mapping[str, object]) -> int:
        """:meth:`SQLiteStore.append_decision_once` inside this transaction."""
        found = self.execute(_FIND_DECISION, [record.get("detail"), *(record.get(name) for name in _SAME_DECISION_FIELDS)]).fetchone()
        return int(found[0]) if found else self.append(record)
