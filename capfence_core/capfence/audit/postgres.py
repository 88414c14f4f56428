"""The PostgreSQL audit store: one audit log and one approval queue for many agents on many hosts.

Selected by a ``postgresql://`` or ``postgres://`` location (see
:mod:`capfence.audit.postgres_schema` for the URL forms); needs
the core's ``postgres`` extra, ``pip install '.[postgres]'`` from a checkout (psycopg 3 and psycopg_pool,
imported only when such a location is opened). Tables: ``records``, ``approvals``,
``meta``, ``schema_version`` and ``flush_ticks``, created by versioned
migrations on first use.

Guarantees (the same as the SQLite store)
-----------------------------------------
* :meth:`PostgresStore.append` returns only once the record is committed
  (and as durable as the server's ``synchronous_commit`` makes a commit).
* Fail closed, never hang: connecting, waiting for a pooled connection, lock
  waits and statements are each bounded by ``timeout`` (default 5 s) on the
  server side, and a watchdog cuts the socket of a call that has had no answer
  ``timeout + 1`` seconds after it started (a dead host, a stuck disk). Inside
  a ``deadline.within`` block (the runtime's ``audit_timeout``) the pool wait,
  ``lock_timeout``/``statement_timeout`` (``SET LOCAL``) and the watchdog get
  only what is left of that one budget, so queued threads cannot add up. Every
  failure raises :class:`~capfence.errors.AuditError`, which the runtime turns
  into a deny; a lock or pool wait that runs out raises its subclass
  :class:`~capfence.audit.deadline.AuditBusy`. When the server is down, calls are denied within milliseconds
  (the connection is refused, and while one probe is in flight the others do
  not wait for it) and writes resume with the first call after it is back.
* Unbroken hash chains, whatever the number of writer threads, processes and
  hosts: one per partition (:mod:`capfence.audit.partitions`), cross-linked.
  Each record's ``ts`` is stamped under its partition's lock, after the head
  is read, as ``max(now, head's ts)``, so it never goes backwards along a
  partition even between hosts whose clocks disagree.

Partitioned chains (schema v5)
------------------------------
One chain serializes every append of a fleet behind one lock held over
network round trips (about 1,400 decisions/s on the 2-core test machine,
whatever the number of writers). So plain appends (decisions, outcomes,
events) spread over partitions ``1..partitions`` (the URL's ``partitions``,
default 64), each an ordinary chain whose records are numbered
``partition * 10**12 + 1, 2, ...``:

* A process appends through *lanes* (:mod:`capfence.audit.postgres_lanes`):
  a partition and its head as this process last wrote it. With the head
  known, an append is **one statement** in autocommit mode
  (:data:`~capfence.audit.postgres_lanes.FAST_INSERT`): the partition's
  advisory lock (``pg_advisory_xact_lock``, key from the schema name and the
  partition), the insert of the row hashed by the client (an HMAC key never
  reaches the server) unless its seq is taken or its predecessor missing,
  and a synchronous commit. A record another writer can read is flushed, so
  a crash loses nothing acknowledged and nothing anyone chained onto. A stale
  or unknown head takes two round trips under the lock (read the head,
  insert and commit), and the lane then moves to another partition. The
  primary key on ``seq`` guarantees no fork whatever happens.
* Every ``crosslink`` seconds (default 1), and when the store closes, a lane
  that appended also appends a cross-link: the heads of all other
  partitions, so ``verify`` notices a partition dropped or cut short.
* Partition 0 is the chain of a log written before v5, and takes every
  write that must be serialized: :meth:`PostgresStore.transaction`
  (approvals, limits, import) and :meth:`PostgresStore.append_decision_once`
  hold its lock (:data:`~capfence.audit.postgres_schema.CHAIN_LOCK`) as
  every append did before. ``partitions=0`` sends every append there: the
  single chain, described next, which the benchmark measures as a baseline.

Partition 0: a serialized head, with the lock released before the WAL flush
--------------------------------------------------------------------------
A partition-0 write is one transaction that takes the chain lock, reads the
head with ``ORDER BY seq DESC LIMIT 1`` (a backward primary-key probe within
the partition), computes the record's hash in the client and inserts
``seq + 1``. Two round trips:

1. ``BEGIN; SET LOCAL synchronous_commit = off; <lock>; <read head>``
2. pipelined: ``INSERT``; ``COMMIT``; an upsert of this server process's row
   in ``flush_ticks``, committed synchronously.

The chain transaction commits *asynchronously*: its locks are released as
soon as its commit record is in the WAL buffers, so the next writer can chain
onto it without waiting for the disk. The caller is answered only after step
2's last statement commits *synchronously*, which flushes the WAL up to a
point after our commit record. Because the WAL is flushed in order, a crash
can only lose a suffix of the chain that no caller was told about; a record
that is durable implies its predecessors are.

Alternatives considered:

* A one-row ``chain_head`` table locked ``FOR UPDATE``: the same
  serialization, but every append updates one hot row whose dead versions
  pile up while a long export holds a snapshot.
* Holding the lock through a synchronous commit on one chain: capped at one
  append per WAL flush (``benchmarks/bench_stores.py`` still measures it).
* Per-writer chains merged by ``verify`` without cross-links: a writer's
  tail, or a whole writer's chain, could be deleted unnoticed. The
  cross-links are what make partitions as checkable as one chain, up to the
  window between two of them (docs/postgres.md).
* Partitions numbered by a separate column, ``seq`` from a sequence: ``seq``
  must be hashed (outcomes and approvals refer to it), so the client would
  need a round trip to learn it before hashing.

Pooling and processes
---------------------
Each process has its own ``psycopg_pool.ConnectionPool`` (default 1 to 4
connections, ``?pool_min=&pool_max=``), opened on first use; a process that
forks opens a new pool in the child and never touches the parent's
connections. Connections are in autocommit mode; transactions are explicit.
A connection found dead after a server restart is discarded and the append
retried once on another connection, which is safe because nothing was sent
beyond ``BEGIN`` (a partition append retried finds its row if the first
attempt committed it, and does not write it twice). A failure after ``COMMIT``
was sent is otherwise ambiguous: the record may be committed even though the
call was denied (an audit record without an outcome; the chain is intact
either way).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from capfence.audit.chain import GENESIS, chain_mode, key_from_env, record_hash
from capfence.audit.deadline import Deadline, active, current
from capfence.audit.partitions import crosslink_record
from capfence.audit.postgres_lanes import FAST_INSERT, REGISTER, Lane, Lanes
from capfence.audit.postgres_schema import (
    CALL_DETAIL,
    CHAIN_LOCK,
    HEADS,
    INSTALL_HINT,
    PARTITION_LOCK,
    Settings,
    connect_kwargs,
    migrate,
    parse_location,
    partition_head,
)
from capfence.audit.record import commit_time
from capfence.audit.sqlite import COLUMNS
from capfence.errors import AuditError

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

log = logging.getLogger("capfence")
T = TypeVar("T")
Connection = Any
"""A ``psycopg.Connection`` (typed loosely so this module imports without psycopg)."""

_HEAD = partition_head(0)
_BEGIN = f"BEGIN; SET LOCAL synchronous_commit = off; {CHAIN_LOCK}; {_HEAD}"
_BEGIN_WITHIN = (
    "BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL lock_timeout = {ms}; SET LOCAL statement_timeout = {ms}; "
    + f"{CHAIN_LOCK}; {_HEAD}"
)
""":data:`_BEGIN` with the lock and statement timeouts cut to what is left of the caller's budget."""
Head = tuple[int, str, str | None]
"""The chain's last record: seq, hash, ts."""
_EMPTY: Head = (0, GENESIS, None)
_INSERT = f"INSERT INTO records ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
_TICK = "INSERT INTO flush_ticks (pid, ticks) VALUES (pg_backend_pid(), 1) ON CONFLICT (pid) DO UPDATE SET ticks = flush_ticks.ticks + 1"
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
    f"SELECT seq FROM records WHERE kind = 'decision' AND {CALL_DETAIL} AND detail = %s AND "
    + " AND ".join(f"{name} IS NOT DISTINCT FROM %s" for name in _SAME_DECISION_FIELDS)
    + " ORDER BY seq DESC LIMIT 1"
)
_WATCHDOG_GRACE = 1.0
_RECONNECT_TIMEOUT = 1.0
"""The pool gives up a reconnection attempt after this long; the next call that needs a connection starts another at once."""
_RECOVERY_WINDOW = 5.0
_LANE_BEGIN = "BEGIN; SET LOCAL lock_timeout = {ms}; {lock}; {head}"
""":meth:`PostgresStore._lane_locked`'s first round trip: the partition's lock, then its head."""
_HAS = "SELECT 1 FROM records WHERE seq = %s AND hash = %s"


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise AuditError(
            f"cannot use a PostgreSQL audit log: {exc.name} is not installed ({INSTALL_HINT})"
        ) from None
    return psycopg, psycopg_pool


class PostgresStore:
    """Append-only, hash-chained audit records and approval requests in PostgreSQL. Thread-safe."""

    def __init__(self, location: str, *, key: bytes | None = None) -> None:
        self.settings: Settings = parse_location(location)
        self.location = self.settings.display
        """The URL without its password (safe to print)."""
        self.key = key if key is not None else key_from_env()
        self._psycopg, self._pool_module = _psycopg()
        self._lock = threading.Lock()
        self._pool: ConnectionPool[Any] | None = None
        self._pid = 0
        self._ready = False
        self._outage: str | None = None
        """Why the database is unreachable, while it is (set by failed connection attempts, cleared by the pool's success)."""
        self._answered_at = 0.0
        self._probing = threading.Lock()
        self._lanes = Lanes(self.settings.partitions, self.settings.pool_max)
        _STORES.add(self)

    def _after_fork(self) -> None:
        """In a forked child: fresh locks (another thread may have held them), and no use of the parent's pool."""
        self._lock, self._probing = threading.Lock(), threading.Lock()
        self._pool, self._ready, self._outage, self._pid, self._answered_at = None, False, None, 0, 0.0
        # the parent's partitions are its own
        self._lanes = Lanes(self.settings.partitions, self.settings.pool_max)

    # --- writing ------------------------------------------------------------------------
    def append(self, record: Mapping[str, object]) -> int:
        """Chain and commit ``record``; return its sequence number. Raises :class:`AuditError`."""
        if self.settings.partitions == 0:
            return self._run(lambda conn, head: self._append_commit(conn, record, head))
        deadline = current(self.settings.timeout)
        self._prepare(deadline)
        lane = self._lanes.take(min(self.settings.timeout, deadline.remaining()))
        if lane is None:
            raise deadline.busy("every partition of this process stayed in use")
        try:
            if lane.unlinked and time.monotonic() - lane.crosslinked >= self.settings.crosslink:
                self._crosslink(lane)
            seq = self._lane_append(lane, record)
            lane.unlinked = True
            return seq
        except BaseException:
            lane.head = None  # whatever happened, read the head again before the next append
            raise
        finally:
            self._lanes.give(lane)

    def crosslink(self) -> None:
        """Pin the other partitions' heads now, in every partition this process appended to since it last did."""
        for lane in self._lanes.all():
            if lane.unlinked and lane.head is not None and self._lanes.claim(lane):
                try:
                    self._crosslink(lane)
                except BaseException:
                    lane.head = None
                    raise
                finally:
                    self._lanes.give(lane)

    def _crosslink(self, lane: Lane) -> None:
        """Append a cross-link record to ``lane``'s partition: the head of every other partition."""
        heads = self._connected(
            lambda conn: [tuple(row) for row in conn.execute(HEADS, [lane.part]).fetchall()]
        )
        if heads:
            self._lane_append(lane, crosslink_record(heads))
        lane.crosslinked, lane.unlinked = time.monotonic(), False

    def _lane_append(self, lane: Lane, record: Mapping[str, object]) -> int:
        """Append ``record`` to ``lane``'s partition: one statement when its head is known, else two round trips.

        A connection found dead (the server restarted since it was last used)
        is replaced and the append tried once more; if the first attempt's
        row was committed after all, the second finds it as the head and
        does not write it again.
        """
        sent: list[dict[str, object]] = []
        for attempt in (1, 2):
            try:
                return self._connected(lambda conn: self._lane_write(conn, lane, record, sent), retry=False)
            except _StaleConnection as stale:
                lane.head = None
                if attempt == 2:
                    raise stale.error from None
        raise AssertionError("unreachable")

    def _lane_write(
        self, conn: Connection, lane: Lane, record: Mapping[str, object], sent: list[dict[str, object]]
    ) -> int:
        if lane.head is not None:
            row = chained_row(record, lane.head, self.key)
            sent.append(row)
            budget = str(self._limit_ms() or int(self.settings.timeout * 1000))
            head = lane.head
            params = [*(row.get(name) for name in COLUMNS), lane.part, budget, head[0], head[1]]
            if conn.execute(FAST_INSERT, params).rowcount == 1:
                lane.head = (int(str(row["seq"])), str(row["hash"]), str(row["ts"]))
                return int(str(row["seq"]))
            # someone else appended to this partition (the row was not written): append after them, then move
            sent.remove(row)
            seq = self._lane_locked(conn, lane, record, sent)
            self._lanes.hop(lane)
            return seq
        return self._lane_locked(conn, lane, record, sent)

    def _lane_locked(
        self, conn: Connection, lane: Lane, record: Mapping[str, object], sent: list[dict[str, object]]
    ) -> int:
        """Two round trips holding the partition's lock: read its head, insert and commit (synchronously)."""
        part = lane.part
        lock = CHAIN_LOCK if part == 0 else PARTITION_LOCK.format(part=part)
        budget = self._limit_ms() or int(self.settings.timeout * 1000)
        cursor = conn.execute(_LANE_BEGIN.format(ms=budget, lock=lock, head=partition_head(part)))
        while cursor.nextset():
            pass
        found = cursor.fetchone()
        head: tuple[int, str, str | None] = (
            (int(found[0]), str(found[1]), found[2]) if found is not None else lane.empty_head()
        )
        for row in sent:  # the failed attempt's row may have been committed: never write it twice
            if head[0] >= int(str(row["seq"])) and conn.execute(_HAS, [row["seq"], row["hash"]]).fetchone():
                conn.execute("COMMIT")
                lane.head = head
                return int(str(row["seq"]))
        row = chained_row(record, head, self.key)
        sent.append(row)
        with conn.pipeline():
            if found is None:
                conn.execute(REGISTER, [part])
            conn.execute(_INSERT, [row.get(name) for name in COLUMNS])
            conn.execute("COMMIT")
        lane.head = (int(str(row["seq"])), str(row["hash"]), str(row["ts"]))
        return lane.head[0]

    def append_decision_once(self, record: Mapping[str, object]) -> int:
        """Append a decision unless the same decision is already recorded for the same call id (``detail``).

        Same semantics as :meth:`capfence.audit.sqlite.SQLiteStore.append_decision_once`:
        lookup and append share one chain transaction.
        """
        if not record.get("detail"):
            return self.append(record)
        with self.transaction() as tx:
            return tx.append_decision_once(record)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One chain transaction: SQL (``?`` placeholders) and chained appends that commit together.

        The chain lock is taken at the start, so transactions are serialized
        like SQLite's ``BEGIN IMMEDIATE`` (the approval state machine relies on it).
        """
        conn, head = self._begin_with_retry()
        tx = Transaction(self, conn, head)
        try:
            with _WATCHDOG.guard(conn, self._hard_limit()):
                yield tx
                self._commit(conn)
        except BaseException as exc:
            self._release(conn, broken=True)
            if isinstance(exc, self._psycopg.Error):
                raise self._error(exc) from exc
            raise
        self._release(conn)

    def _run(self, body: Callable[[Connection, Head], T]) -> T:
        conn, head = self._begin_with_retry()
        try:
            with _WATCHDOG.guard(conn, self._hard_limit()):
                result = body(conn, head)
        except BaseException as exc:
            self._release(conn, broken=True)
            if isinstance(exc, self._psycopg.Error):
                raise self._error(exc) from exc
            raise
        self._release(conn)
        return result

    def _append_commit(self, conn: Connection, record: Mapping[str, object], head: Head) -> int:
        """Round trip 2: insert, commit (asynchronously), then a synchronous commit that waits for the flush."""
        row = chained_row(record, head, self.key)
        with conn.pipeline():
            conn.execute(_INSERT, [row.get(name) for name in COLUMNS])
            conn.execute("COMMIT")
            conn.execute(_TICK)
        return head[0] + 1

    def _commit(self, conn: Connection) -> None:
        with conn.pipeline():
            conn.execute("COMMIT")
            conn.execute(_TICK)

    def _begin_with_retry(self) -> tuple[Connection, Head]:
        """Round trip 1 on a healthy connection: begin, take the chain lock, read the head."""
        deadline = current(self.settings.timeout)
        self._prepare(deadline)
        for attempt in (1, 2):
            conn = self._checkout(deadline)
            try:
                with _WATCHDOG.guard(conn, self._hard_limit()):
                    head = self._begin(conn, self._limit_ms())
                if getattr(conn, "_pool", None) is not None:
                    self._outage = None  # a pooled connection works
                return conn, head
            except self._psycopg.OperationalError as exc:
                # Nothing was written: safe to retry once if the connection had died while idle in the pool.
                stale = conn.closed and not _WATCHDOG.tripped(conn) and not _is_timeout(exc)
                self._release(conn, broken=True)
                if attempt == 1 and stale:
                    self._recheck_pool()
                    continue
                raise self._error(exc, connection=True) from exc
            except BaseException as exc:
                self._release(conn, broken=True)
                if isinstance(exc, self._psycopg.Error):
                    raise self._error(exc) from exc
                raise
        raise AssertionError("unreachable")

    @staticmethod
    def _begin(conn: Connection, limit_ms: int | None) -> Head:
        cursor = conn.execute(_BEGIN if limit_ms is None else _BEGIN_WITHIN.format(ms=limit_ms))
        while cursor.nextset():
            pass
        row = cursor.fetchone()
        return (int(row[0]), str(row[1]), row[2]) if row is not None else _EMPTY

    def _limit(self) -> float:
        """Seconds this operation may still wait: the URL's ``timeout``, or less if the caller's budget has less left."""
        budget = active()
        return self.settings.timeout if budget is None else min(self.settings.timeout, budget.remaining())

    def _limit_ms(self) -> int | None:
        """The server-side lock/statement timeout for this transaction (None: the connection's, from ``timeout``)."""
        limit = self._limit()
        # 0 would mean "no limit"
        return None if limit >= self.settings.timeout else max(1, int(limit * 1000))

    def _hard_limit(self) -> float:
        return self._limit() + _WATCHDOG_GRACE

    def _connected(self, body: Callable[[Connection], T], *, retry: bool = True) -> T:
        """``body`` on a pooled connection, outside any transaction; failures as :class:`AuditError`.

        A connection found dead before anything reached the server (it died
        while idle in the pool) is replaced and ``body`` run again once when
        ``retry``; otherwise :class:`_StaleConnection` tells the caller, who
        knows whether a second attempt is safe.
        """
        deadline = current(self.settings.timeout)
        for attempt in (1, 2):
            conn = self._checkout(deadline)
            try:
                with _WATCHDOG.guard(conn, self._hard_limit()):
                    result = body(conn)
            except self._psycopg.OperationalError as exc:
                stale = conn.closed and not _WATCHDOG.tripped(conn) and not _is_timeout(exc)
                self._release(conn, broken=True)
                error = self._error(exc, connection=True)
                if stale and attempt == 1:
                    self._recheck_pool()
                    if retry:
                        continue
                    raise _StaleConnection(error) from exc
                raise error from exc
            except BaseException as exc:
                self._release(conn, broken=True)
                if isinstance(exc, self._psycopg.Error):
                    raise self._error(exc) from exc
                raise
            if getattr(conn, "_pool", None) is not None:
                self._outage = None  # a pooled connection works
            self._release(conn)
            return result
        raise AssertionError("unreachable")

    # --- connections ----------------------------------------------------------------------
    def _prepare(self, deadline: Deadline) -> None:
        """Open this process's pool and run the migrations, once per process."""
        if self._ready and self._pid == os.getpid():
            return
        if not self._lock.acquire(timeout=min(self.settings.timeout, deadline.remaining())):
            raise deadline.busy("waiting for another thread of this process to open the audit log")
        try:
            if self._pid != os.getpid():
                # a forked child never uses the parent's sockets
                self._pool, self._ready, self._outage = None, False, None
                self._pid = os.getpid()
            if self._pool is None:
                self._pool = self._new_pool()
            if not self._ready:
                conn = self._checkout(deadline)
                try:
                    with _WATCHDOG.guard(conn, self._hard_limit()):
                        migrate(conn, chain_mode(self.key))
                except BaseException as exc:
                    self._release(conn, broken=True)
                    if isinstance(exc, self._psycopg.Error):
                        raise self._error(exc) from exc
                    raise
                self._release(conn)
                self._ready = True
        finally:
            self._lock.release()

    def _new_pool(self) -> ConnectionPool[Any]:
        store = self
        base = self._psycopg.Connection

        class _Connection(base):  # type: ignore[misc, valid-type]
            """Reports connection attempts to the store, so calls fail fast during an outage."""

            @classmethod
            def connect(cls, *args: Any, **kwargs: Any) -> Any:
                try:
                    conn = super().connect(*args, **kwargs)
                except Exception as exc:
                    store._outage = f"{type(exc).__name__}: {exc}".strip()
                    raise
                store._outage = None
                return conn

        pool: ConnectionPool[Any] = self._pool_module.ConnectionPool(
            self.settings.conninfo,
            min_size=self.settings.pool_min,
            max_size=self.settings.pool_max,
            kwargs={"autocommit": True, **connect_kwargs(self.settings, writer=True)},
            connection_class=_Connection,
            open=False,
            timeout=self.settings.timeout,
            reconnect_timeout=_RECONNECT_TIMEOUT,
            name=f"capfence-audit-{os.getpid()}",
        )
        pool.open(wait=False)
        return pool

    def _checkout(self, budget: Deadline) -> Connection:
        """A pooled connection; while the database is known to be unreachable, a direct attempt instead of waiting."""
        pool = self._pool
        assert pool is not None
        limit = min(self.settings.timeout, budget.remaining())
        deadline = time.monotonic() + limit
        while True:
            if self._outage is not None:
                try:
                    return pool.getconn(timeout=0.001)  # also asks the pool to try to reconnect
                except self._pool_module.PoolTimeout:
                    return self._probe()
            try:
                return pool.getconn(timeout=max(0.001, min(0.05, deadline - time.monotonic())))
            except self._pool_module.PoolTimeout:
                if time.monotonic() >= deadline:
                    if limit < self.settings.timeout:
                        raise budget.busy("every connection of this process's pool stayed in use") from None
                    waited = f"no database connection within {self.settings.timeout:g}s"
                    raise AuditError(f"cannot write audit log {self.location}: {waited}") from None

    def _probe(self) -> Connection:
        """Connect directly, while the pool has none.

        Until a probe succeeds, one thread probes at a time and the others are
        denied at once (an unreachable host costs a connect timeout, and only
        to one caller). Once the server answers again, callers connect
        directly until the pool has reconnected (which clears the outage).
        """
        recovering = time.monotonic() - self._answered_at < _RECOVERY_WINDOW
        if not recovering and not self._probing.acquire(blocking=False):
            raise AuditError(f"cannot write audit log {self.location}: database unreachable ({self._outage})")
        try:
            conn = self._psycopg.Connection.connect(
                self.settings.conninfo, autocommit=True, **connect_kwargs(self.settings, writer=True)
            )
        except self._psycopg.Error as exc:
            self._outage, self._answered_at = f"{type(exc).__name__}: {exc}".strip(), 0.0
            raise AuditError(
                f"cannot write audit log {self.location}: database unreachable ({self._outage})"
            ) from exc
        finally:
            if not recovering:
                self._probing.release()
        self._answered_at = time.monotonic()
        return conn

    def _release(self, conn: Connection, *, broken: bool = False) -> None:
        """Give a connection back (rolled back if a transaction is open); close it if it is not the pool's."""
        if broken and not conn.closed:
            with contextlib.suppress(Exception):
                if conn.info.transaction_status != 0:  # not IDLE
                    conn.execute("ROLLBACK")
        if getattr(conn, "_pool", None) is not None and self._pool is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                self._pool.putconn(conn)
                return
        with contextlib.suppress(Exception):
            conn.close()

    def _recheck_pool(self) -> None:
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.check()

    def _error(self, exc: Exception, *, connection: bool = False) -> AuditError:
        if isinstance(exc, AuditError):
            return exc
        text = " ".join(str(exc).split()) or type(exc).__name__
        if getattr(exc, "sqlstate", None) in _BUSY_STATES:
            return current(self.settings.timeout).busy(text)  # waiting for the chain lock, or a slow server
        if _is_timeout(exc):
            text = f"timed out after {self.settings.timeout:g}s ({text})"
        elif connection or isinstance(exc, self._psycopg.OperationalError):
            if isinstance(exc, self._psycopg.OperationalError):
                self._outage = text
            text = f"database unreachable ({text})"
        return AuditError(f"cannot write audit log {self.location}: {text}")

    def close(self) -> None:
        """Pin the heads (:meth:`crosslink`), then close this process's pool.

        A later call opens a new pool, as the SQLite store reconnects.
        """
        if self._pool is not None and self._ready and self._pid == os.getpid():
            try:
                self.crosslink()
            except Exception as exc:  # noqa: BLE001 - closing goes on; the next writer's cross-link pins these heads
                log.warning("could not cross-link the audit log's partitions on close: %s", exc)
        with self._lock:
            pool, self._pool, self._ready = self._pool, None, False
            if pool is not None and self._pid == os.getpid():
                with contextlib.suppress(Exception):
                    pool.close(timeout=self.settings.timeout)


def chained_row(record: Mapping[str, object], head: Head, key: bytes | None) -> dict[str, object]:
    """``record`` as the next row of a chain whose head is ``head``: ``seq``, ``ts`` (commit time), ``prev_hash`` and ``hash`` set."""
    row: dict[str, object] = {
        "truncated": 0,
        "redacted": 0,
        **record,
        "seq": head[0] + 1,
        "ts": commit_time(head[2]),
        "prev_hash": head[1],
    }
    for flag in ("truncated", "redacted"):
        if isinstance(row[flag], bool):
            row[flag] = 1 if row[flag] else 0  # stored as an integer; hash what is stored
    row["hash"] = record_hash(head[1], row, key)
    return row


class _StaleConnection(Exception):
    """A pooled connection was found dead; ``error`` is what to raise if trying again is not safe or fails too."""

    def __init__(self, error: AuditError) -> None:
        super().__init__(str(error))
        self.error = error


_BUSY_STATES = ("55P03", "57014")
"""lock_not_available (``lock_timeout``), query_canceled (``statement_timeout``): the budget ran out."""


def _is_timeout(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)
    return (
        sqlstate in ("57014", "55P03", "25P03")
        or "timeout expired" in str(exc)
        or _WATCHDOG.tripped_error(exc)
    )


class Transaction:
    """A chain transaction on a :class:`PostgresStore`, with the SQLite store's ``Transaction`` interface.

    ``execute`` takes SQLite-style ``?`` placeholders (the approval code is
    shared by both stores) and returns a cursor whose rows read by position and
    by column name.
    """

    def __init__(self, store: PostgresStore, conn: Connection, head: Head) -> None:
        self.store, self.conn, self.head = store, conn, head

    def execute(self, sql: str, params: Sequence[object] = ()) -> Any:
        cursor = self.conn.cursor(row_factory=_row_factory)
        if params:
            return cursor.execute(qmark_to_pyformat(sql), list(params))
        return cursor.execute(sql)

    def append(self, record: Mapping[str, object]) -> int:
        row = chained_row(record, self.head, self.store.key)
        self.conn.execute(_INSERT, [row.get(name) for name in COLUMNS])
        self.head = (self.head[0] + 1, str(row["hash"]), str(row["ts"]))
        return self.head[0]

    def append_decision_once(self, record: Mapping[str, object]) -> int:
        """:meth:`PostgresStore.append_decision_once` inside this transaction."""
        if not record.get("detail"):
            return self.append(record)
        params = [record.get("detail"), *(record.get(name) for name in _SAME_DECISION_FIELDS)]
        found = self.conn.execute(_FIND_DECISION, params).fetchone()
        return int(found[0]) if found else self.append(record)

    def insert_rows(self, rows: Sequence[Sequence[object]]) -> None:
        """Bulk-insert rows that already carry their chain fields (values in ``COLUMNS`` order), with ``COPY``: used by import."""
        with self.conn.cursor().copy(f"COPY records ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
        if rows:
            self.head = (int(rows[-1][0]), str(rows[-1][-1]), str(rows[-1][1]))  # type: ignore[call-overload]


class Row:
    """A result row readable by position (``row[0]``) and by column name (``row["status"]``), like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, values: Sequence[Any], names: dict[str, int]) -> None:
        self._values, self._names = tuple(values), names

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._names[key]] if isinstance(key, str) else self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    names = {column.name: index for index, column in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


_QMARK_CACHE: dict[str, str] = {}


def qmark_to_pyformat(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s`` (outside string literals); literal ``%`` doubled."""
    cached = _QMARK_CACHE.get(sql)
    if cached is not None:
        return cached
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append("%%" if ch == "%" else ch)
    if len(_QMARK_CACHE) < 1024:
        _QMARK_CACHE[sql] = "".join(out)
    return "".join(out)


class _Watchdog:
    """Cuts the socket of a database call that has run past its hard limit, so a dead peer cannot hang a caller.

    Server-side timeouts normally fire first; this covers what they cannot:
    a host that vanished, a server stuck on its disk. One daemon thread per
    process, started on first use; registering a call costs a dict insert.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[int, tuple[float, Any]] = {}
        self._tripped: dict[int, float] = {}
        self._ids = itertools.count()
        self._pid = 0

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._calls.clear()
        self._tripped.clear()
        self._pid = 0

    @contextmanager
    def guard(self, conn: Any, seconds: float) -> Iterator[None]:
        token = next(self._ids)
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._tripped.clear()
                threading.Thread(target=self._run, name="capfence-audit-watchdog", daemon=True).start()
            self._calls[token] = (time.monotonic() + seconds, conn)
        try:
            yield
        finally:
            with self._lock:
                self._calls.pop(token, None)

    def tripped(self, conn: Any) -> bool:
        return id(conn) in self._tripped

    def tripped_error(self, exc: BaseException) -> bool:
        return bool(self._tripped) and "server closed the connection" in str(exc)

    def _run(self) -> None:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with self._lock:
                overdue = [(token, conn) for token, (deadline, conn) in self._calls.items() if deadline < now]
                for token, conn in overdue:
                    del self._calls[token]
                    self._tripped[id(conn)] = now
                for key in [k for k, at in self._tripped.items() if now - at > 60]:
                    del self._tripped[key]
            for _, conn in overdue:
                _shutdown(conn)


def _shutdown(conn: Any) -> None:
    with contextlib.suppress(Exception):
        fd = conn.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()


_WATCHDOG = _Watchdog()
_STORES: weakref.WeakSet[PostgresStore] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    _WATCHDOG.after_fork()
    for store in list(_STORES):
        store._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def open_postgres(location: str) -> PostgresStore:
    return PostgresStore(location)


if TYPE_CHECKING:
    _: Callable[[str], PostgresStore] = open_postgres
    __: type[psycopg.Connection[Any]]
