"""The default audit store: one SQLite file in WAL mode.

Appends are serialized across threads by a lock and across processes by
``BEGIN IMMEDIATE``; inside that transaction the writer reads the chain head
and inserts the next record, so many processes writing one file produce a
single unbroken chain. The record is committed before :meth:`append`
returns. ``synchronous=NORMAL`` (the WAL default) survives a crash of the
writing process; set ``CAPFENCE_AUDIT_SYNC=full`` to also survive power loss
at the cost of an fsync per decision. Copying the WAL back into the database
(a checkpoint) is done in the commit that crosses :data:`COMMIT_CHECKPOINT` pages
or, when :data:`CHECKPOINT_EVERY` turns it on, by a background thread of the store
(:class:`_Checkpointer`), not inside a caller's commit.

Waiting is bounded by one budget per operation (:mod:`capfence.audit.deadline`):
the budget of the enclosing ``within`` block (the runtime's ``audit_timeout``)
or, outside one, :data:`BUSY_TIMEOUT_MS`. The wait for the thread lock and
SQLite's busy timeout (set to what is left before each attempt) both draw
on it, so a file locked by another process costs each caller at most its
budget, however many threads queue. Running out raises
:class:`~capfence.audit.deadline.AuditBusy`; the connection is kept.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from capfence.audit.chain import GENESIS, HASHED_FIELDS, chain_mode, key_from_env, values_hash
from capfence.audit.deadline import Deadline, current
from capfence.audit.record import commit_time
from capfence.audit.timeorder import drop_time_index_if_ordered, keep_time_order
from capfence.errors import AuditError

SCHEMA_VERSION = 7
CALL_DETAIL = "instr(detail, '\"call_id\"') > 0"
"""A decision record whose ``detail`` names a call id: the partial index for :meth:`SQLiteStore.append_decision_once` holds only
these, and its query repeats this term word for word so SQLite can use that index."""
BUSY_TIMEOUT_MS = 5000
"""The budget of a store operation outside any ``deadline.within`` block (the CLI's, for instance)."""
CHECKPOINT_EVERY = 0
"""Commits of one store between two checkpoints run by a background thread (1,000 is about 5,000 WAL pages); off (0)
by default, since on a busy two-core machine the thread made the median call about 9 µs slower.

Fewer, larger checkpoints: a checkpoint's syncs slow the writes of the same file system while they
run, so they are kept rare; a page rewritten by many appends is copied once per checkpoint.
0 turns the thread off: SQLite's own checkpoint, in the commit that crosses :data:`COMMIT_CHECKPOINT` WAL pages.
The trade-off measured (``benchmarks/README.md``, issue 24): the slowest calls get much faster,
the median call a little slower while a checkpoint overlaps it.
"""
CHECKPOINT_IDLE = 60.0
"""Seconds without a wake-up after which the checkpoint thread ends (a store written again starts a new one)."""
WAL_AUTOCHECKPOINT = 20_000
"""WAL pages at which a writer checkpoints on its own path with the thread on: only if the thread falls behind."""
COMMIT_CHECKPOINT = 4000
"""WAL pages at which the committing writer checkpoints, with the thread off (SQLite's default is 1,000).

A decision commits about 5 WAL frames, so 1,000 pages put a checkpoint (writing back and syncing the WAL's
pages, several ms) in one call of ~200: 0.5 % of the calls, which with what the writes just after it wait for
set the 99th percentile. At 4,000 pages it is one call of ~800, the WAL stays under ~16 MB, and a page
rewritten by many appends (the last leaf of each index) is copied once for more commits. Measured
(``benchmarks/bench_audit_tail.py``): p99 of the audit write ~10x its median at 1,000, ~6x at 4,000, the median
unchanged.
"""

_FILTER_INDEXES = {
    "records_decision": "decision",
    "records_agent": "agent_id",
    "records_capability": "capability",
}


def _decisions_only(conn: sqlite3.Connection) -> None:
    """Step 7: the indexes of ``logs``' and the console's filters hold decision records only, in time order.

    Every query they serve selects ``kind = 'decision'``, so an outcome or approval record
    (one for most calls that run) writes no entry in them.
    """
    for name, column in _FILTER_INDEXES.items():
        conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.execute(f"CREATE INDEX {name} ON records({column}, ts) WHERE kind = 'decision'")


def _step_7(conn: sqlite3.Connection) -> None:
    """Filter indexes of decisions only; no ``ts`` index where ``ts`` never goes backwards."""
    _decisions_only(conn)
    drop_time_index_if_ordered(conn)


_MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {
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
    4: """
    CREATE TABLE IF NOT EXISTS usage (
        key TEXT NOT NULL, ts TEXT NOT NULL, seq INTEGER NOT NULL, amount REAL NOT NULL, PRIMARY KEY (key, ts, seq)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS policies (digest TEXT PRIMARY KEY, path TEXT, body TEXT NOT NULL);
    """,
    # Every decision's detail carries its provenance now: index only those with a call id (all the lookup needs),
    # or every decision would pay for an index entry.
    5: f"""
    DROP INDEX IF EXISTS records_call;
    CREATE INDEX IF NOT EXISTS records_call ON records(detail) WHERE kind = 'decision' AND {CALL_DETAIL};
    """,
    6: """
    DROP INDEX IF EXISTS records_ref;
    CREATE INDEX IF NOT EXISTS records_ref ON records(ref) WHERE ref IS NOT NULL;
    """,
    7: _step_7,
}
"""Each step runs once, in order, in one write transaction (``PRAGMA user_version`` is the step reached).

Step 6 makes ``records_ref`` partial: ``ref`` is set only on outcome and approval records, so a decision
(almost every record) no longer writes an index entry for it, while ``ref = ?`` lookups (a decision's
outcomes and approval events) still use it. Step 7 drops ``records_ts`` from a log whose ``ts`` never goes
backwards along ``seq`` (:mod:`capfence.audit.timeorder`: its newest records are its last ``seq`` numbers and a
time range is a ``seq`` range; a log where it does keeps it), and rebuilds the three filter indexes with decision
records only. The indexes kept on ``records`` are the ones a query plan needs (``tests/audit/test_query_plans.py``
shows each): ``records_decision``, ``records_agent`` and ``records_capability`` (those filters, in ``logs`` and
the console, in time order), ``records_ref`` and the partial ``records_call`` (``append_decision_once``).
Readers shape their SQL for the indexes a log has (:mod:`capfence.audit.layout`). Indexes are not hashed: logs
of any schema version verify the same.
"""

COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")
"""The columns of ``records`` in the insert's order: the hashed fields, then the chain's two hashes."""
_BEFORE_FLAGS = HASHED_FIELDS[2 : HASHED_FIELDS.index("truncated")]
_AFTER_FLAGS = HASHED_FIELDS[HASHED_FIELDS.index("redacted") + 1 :]
assert (
    (*HASHED_FIELDS[:2], *_BEFORE_FLAGS, "truncated", "redacted", *_AFTER_FLAGS)
    == HASHED_FIELDS
    == COLUMNS[:-2]
)
_INSERT = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
_HEAD = "SELECT seq, hash, ts FROM records ORDER BY seq DESC LIMIT 1"
_EMPTY: tuple[int, str, str | None] = (0, GENESIS, None)
_SAME_DECISION_FIELDS = (
    "agent_id",
    "framework",
    "tool",
    "capability",
    "environment",
    "payload_sha256",
    "decision",
    "rule",
    "reason",
    "policy_digest",
)
_FIND_DECISION = (
    f"SELECT seq FROM records WHERE kind = 'decision' AND {CALL_DETAIL} AND detail = ? AND "
    + " AND ".join(f"{name} IS ?" for name in _SAME_DECISION_FIELDS)
    + " ORDER BY seq DESC LIMIT 1"
)


def connect(path: str, *, readonly: bool = False, timeout: float | None = None) -> sqlite3.Connection:
    """A connection with our pragmas, waiting up to ``timeout`` s (default :data:`BUSY_TIMEOUT_MS`) for locks.

    Read-only connections never create or change the file.
    """
    busy_ms = BUSY_TIMEOUT_MS if timeout is None else int(timeout * 1000)
    if readonly:
        conn = sqlite3.connect(
            f"file:{Path(path).absolute()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=busy_ms / 1000)
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
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
            if not is_busy(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        delay = min(delay * 2, 0.05)


def is_busy(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "another connection holds the lock" (``SQLITE_BUSY``/``SQLITE_LOCKED``, any extended code)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlite3.OperationalError)
        and code is not None
        and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    )


def migrate(conn: sqlite3.Connection, key: bytes | None) -> None:
    """Bring the schema to :data:`SCHEMA_VERSION`; record and check the chain mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise AuditError(
                f"audit log schema v{version} is newer than this CapFence (v{SCHEMA_VERSION}); upgrade capfence"
            )
        for step in range(version + 1, SCHEMA_VERSION + 1):
            migration = _MIGRATIONS[step]
            if isinstance(migration, str):
                _run_script(conn, migration)
            else:
                migration(conn)
            conn.execute(f"PRAGMA user_version = {step}")
        mode = chain_mode(key)
        conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('chain', ?)", (mode,))
        stored = conn.execute("SELECT value FROM meta WHERE key = 'chain'").fetchone()[0]
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if stored != mode:
        hint = (
            "set CAPFENCE_AUDIT_KEY"
            if stored == "hmac-sha256"
            else "unset CAPFENCE_AUDIT_KEY or use a new audit log"
        )
        raise AuditError(f"audit log chain uses {stored} but this process is configured for {mode}: {hint}")


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


class _Checkpointer:
    """Copies the WAL back into the database file on a thread of its own, off the callers' path.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold,
    so one caller in a few hundred paid for writing and syncing every page of the
    WAL (the p99 of a decision). Here the store counts its commits and every
    :data:`CHECKPOINT_EVERY` wakes this thread, which runs a ``PASSIVE`` checkpoint
    on its own connection: it never waits for a lock nor blocks a writer, and
    copies only frames already committed, so durability and the chain are as
    before (a commit is durable when it is in the WAL; the checkpoint syncs the
    WAL before it copies). Writers keep SQLite's own checkpoint, at
    :data:`WAL_AUTOCHECKPOINT` pages, in case this thread cannot keep up; an error
    here drops the connection and the next wake-up opens a new one.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pending = 0

    def committed(self) -> None:
        """Count one commit (the caller holds the store's lock); wake the thread every :data:`CHECKPOINT_EVERY`."""
        self._pending += 1
        if self._pending >= CHECKPOINT_EVERY:
            self._pending = 0
            # not started yet, or ended after a quiet spell
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="capfence-audit-checkpoint", daemon=True
                )
                self._thread.start()
            self._wake.set()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                if not self._wake.wait(CHECKPOINT_IDLE) or self._stopping:
                    # quiet (or a store never closed): end the thread and its connection; the next wake-up
                    # starts one
                    return
                self._wake.clear()
                try:
                    if conn is None:
                        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                        conn.execute("PRAGMA busy_timeout = 0")
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:
                    if conn is not None:
                        with suppress(sqlite3.Error):
                            conn.close()
                    conn = None
        finally:
            if conn is not None:
                with suppress(sqlite3.Error):
                    conn.close()

    def stop(self) -> None:
        """End the thread (after the checkpoint it may be running) and close its connection."""
        self._stopping = True
        self._wake.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)
        self._thread = None


class SQLiteStore:
    """Append-only, hash-chained audit records in one SQLite file.

    ``timeout``: the budget in seconds of an operation outside any
    ``deadline.within`` block (default :data:`BUSY_TIMEOUT_MS`).

    Each record's ``ts`` is stamped when it is inserted, by the writer that
    holds the chain's head: ``max(now, head's ts)`` (:func:`~capfence.audit.record.commit_time`).
    A record built earlier (before queueing for the lock) keeps none of its
    own time, so ``ts`` never goes backwards along ``seq``, across threads and
    processes and even if the wall clock is stepped back.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, key: bytes | None = None, timeout: float | None = None
    ) -> None:
        self.location = str(path)
        self.key = key if key is not None else key_from_env()
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._head: tuple[int, str, str | None] | None = None
        self._busy_ms = -1
        """The busy timeout currently set on ``_conn``."""
        self._checkpointer: _Checkpointer | None = None

    def _budget(self) -> Deadline:
        return current(self.timeout if self.timeout is not None else BUSY_TIMEOUT_MS / 1000)

    def _connection(self, deadline: Deadline) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            conn = connect(self.location, timeout=deadline.remaining())
            sync = "FULL" if os.environ.get("CAPFENCE_AUDIT_SYNC", "").lower() == "full" else "NORMAL"
            conn.execute(f"PRAGMA synchronous = {sync}")
            pages = WAL_AUTOCHECKPOINT if CHECKPOINT_EVERY > 0 else COMMIT_CHECKPOINT
            conn.execute(f"PRAGMA wal_autocheckpoint = {pages}")
            try:
                enable_wal(conn, deadline.remaining())
                migrate(conn, self.key)
            except BaseException:
                conn.close()
                raise
            # a forked child: its own thread
            if CHECKPOINT_EVERY > 0 and (self._checkpointer is None or self._pid != os.getpid()):
                self._checkpointer = _Checkpointer(self.location)
            self._conn, self._pid, self._head, self._busy_ms = conn, os.getpid(), None, -1
        return self._conn

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """This thread's turn on the connection, every wait bounded by the budget in force.

        Raises :class:`~capfence.audit.deadline.AuditBusy` when the budget runs
        out (queued behind this process's threads, or SQLite's lock held by
        another connection) and :class:`AuditError` for any other failure,
        after which the connection is reopened on the next use.
        """
        deadline = self._turn()
        try:
            yield self._ready(deadline)
        except (sqlite3.Error, OSError) as exc:
            raise self._failed(exc, deadline) from exc
        finally:
            self._lock.release()

    def _turn(self) -> Deadline:
        """Take the lock within the budget in force; return that budget."""
        deadline = self._budget()
        if not (self._lock.acquire(blocking=False) or self._lock.acquire(timeout=deadline.remaining())):
            raise deadline.busy("queued behind other writers in this process")
        return deadline

    def _ready(self, deadline: Deadline) -> sqlite3.Connection:
        conn = self._connection(deadline)
        self._bound_busy_wait(conn, deadline)
        return conn

    def _failed(self, exc: BaseException, deadline: Deadline) -> AuditError:
        """The error to raise for a failed write (the connection is reopened on the next use unless it was only busy)."""
        self._head = None
        if is_busy(exc):
            return deadline.busy(f"{exc}; another connection holds the write lock")
        self._close_connection()
        return AuditError(f"cannot write audit log {self.location}: {exc}")

    def _bound_busy_wait(self, conn: sqlite3.Connection, deadline: Deadline) -> None:
        """Let SQLite wait for other connections only for what is left of the budget (in 10 ms steps, rounded down)."""
        busy_ms = int(deadline.remaining() * 100) * 10
        if busy_ms != self._busy_ms:
            conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
            self._busy_ms = busy_ms

    def append(self, record: Mapping[str, object]) -> int:
        """Chain and commit ``record``; return its sequence number. Raises :class:`AuditError`.

        (:meth:`_writing` spelled out: every call appends, and a generator context manager costs more than the rest.)
        """
        deadline = self._turn()
        try:
            seq = self._append(self._ready(deadline), record)
            self._committed()
            return seq
        except (sqlite3.Error, OSError) as exc:
            raise self._failed(exc, deadline) from exc
        finally:
            self._lock.release()

    def _append(self, conn: sqlite3.Connection, record: Mapping[str, object]) -> int:
        """Insert the next record of the chain.

        Fast path: we remember the head (seq, hash, ts) we last saw and insert
        ``seq + 1`` in one autocommit statement. If another writer appended in
        the meantime, row ``seq + 1`` already exists and the primary key
        rejects ours, so a record can never be chained to a stale head (nor
        stamped before it); we then take the write lock, read the real head
        and insert under it.
        """
        if self._head is not None:
            try:
                return self._insert(conn, record, *self._head)
            except sqlite3.IntegrityError:
                pass
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = conn.execute(_HEAD).fetchone()
            seq = self._insert(conn, record, *(tuple(head) if head else _EMPTY))
            conn.execute("COMMIT")
        except BaseException:
            self._head = None
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return seq

    def _insert(
        self,
        conn: sqlite3.Connection,
        record: Mapping[str, object],
        last_seq: int,
        last_hash: str,
        last_ts: str | None,
    ) -> int:
        ts = commit_time(last_ts)
        # the record's values in HASHED_FIELDS order, its own seq and ts replaced, flags 0 unless it has them
        get = record.get
        values = [
            last_seq + 1,
            ts,
            *map(get, _BEFORE_FLAGS),
            get("truncated", 0),
            get("redacted", 0),
            *map(get, _AFTER_FLAGS),
        ]
        digest = values_hash(last_hash, values, self.key)
        values += (last_hash, digest)
        conn.execute(_INSERT, values)
        self._head = (last_seq + 1, digest, ts)
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
        """One write transaction (``BEGIN IMMEDIATE``): state changes and their audit records commit together.

        Taking the transaction waits within the budget in force, like :meth:`append`.
        """
        with self._writing() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self, conn)
                conn.execute("COMMIT")
                self._committed()
            except BaseException:
                self._head = None
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _committed(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def _close_connection(self) -> None:
        """Drop the connection (the caller holds the lock); the next use opens a new one."""
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.close()
        self._conn = None
        self._head = None

    def close(self) -> None:
        with self._lock:
            if self._checkpointer is not None and self._pid == os.getpid():
                self._checkpointer.stop()
            self._checkpointer = None
            self._close_connection()


class Transaction:
    """A write transaction on a :class:`SQLiteStore`: run SQL and append chained records."""

    def __init__(self, store: SQLiteStore, conn: sqlite3.Connection) -> None:
        self.store, self.conn = store, conn

    def execute(self, sql: str, params: tuple[object, ...] | list[object] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def append(self, record: Mapping[str, object]) -> int:
        head = self.conn.execute(_HEAD).fetchone()
        return self.store._insert(self.conn, record, *(tuple(head) if head else _EMPTY))

    def imported(self, first_seq: int) -> None:
        """Records from ``first_seq`` on were inserted as they are (``ts`` included): keep the log readable in time order."""
        keep_time_order(self.conn, first_seq)

    def append_decision_once(self, record: Mapping[str, object]) -> int:
        """:meth:`SQLiteStore.append_decision_once` inside this transaction."""
        found = self.execute(
            _FIND_DECISION, [record.get("detail"), *(record.get(name) for name in _SAME_DECISION_FIELDS)]
        ).fetchone()
        return int(found[0]) if found else self.append(record)
