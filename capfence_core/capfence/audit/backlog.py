"""Records that need not hold up the caller: tried briefly, else appended in order by a background thread.

A decision must be in the audit log before the tool runs, so the caller
waits for it (up to the runtime's ``audit_timeout``, then the call is
denied). An outcome record (ran, blocked, held, tool error) or an event such
as ``policy_reload_failed`` only reports what already happened: making the
caller wait a second full timeout for it while the log is locked would
double the hang and protect nothing. So :meth:`Backlog.write` tries once
with a short budget and, if the log is busy (:class:`~capfence.audit.deadline.AuditBusy`),
queues it; one background thread per backlog then appends the queue front to
back, retrying with backoff until the log frees. Other failures (an
unwritable or corrupt log) are not retried: the caller logs them.

The chain stays correct because the background thread appends through the
same ``store.append`` as everyone else: each record is chained to the head
current when it is written and stamped then (its ``ts`` is its commit time,
non-decreasing along ``seq``); the time it happened is kept in its
``detail`` as ``occurred_at``. Nothing is updated in place and nothing forks.
Per process the queued records keep their order, and while the queue is not
empty new records join its end instead of overtaking it. An outcome always
follows its decision in the chain (the decision was committed first).

Nothing is lost silently: queueing is logged (a warning the first time, an
info line once the queue drains); :meth:`Backlog.close` (the runtime's
``close``, and interpreter exit) waits a bounded time for the queue and logs
every record it could not write, in full, at ERROR. A queue longer than
:data:`MAX_PENDING` records logs and drops further records the same way. If
an append fails ambiguously (PostgreSQL: the connection drops after
``COMMIT`` was sent) the retry can write an outcome twice; both copies
reference the same decision.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable, Mapping

from capfence.audit.deadline import AuditBusy, within

log = logging.getLogger("capfence")

MAX_PENDING = 10_000
_FIRST_RETRY, _MAX_RETRY = 0.05, 2.0
"""Seconds between background attempts: doubling from the first to the last."""

Record = Mapping[str, object]


class Backlog:
    """A queue of records in front of ``append`` (which writes one record or raises).

    ``attempt``: the time budget of each background attempt, in seconds.
    """

    def __init__(self, append: Callable[[Record], object], *, attempt: float) -> None:
        self._append = append
        self._attempt = attempt
        self._init_state()
        _BACKLOGS.add(self)

    def _init_state(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[Record] = deque()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._written = 0
        """Records the background thread has written (flush watches it for progress)."""

    @property
    def pending(self) -> int:
        """Records waiting to be written."""
        return len(self._pending)

    def write(self, record: Record, *, wait: float) -> None:
        """Append ``record`` within ``wait`` seconds, or queue it if the log is busy (or already has a queue).

        Any other failure of ``append`` (an unwritable or corrupt log) is raised:
        retrying would not help, and the caller logs it.
        """
        if not self._pending:
            try:
                with within(wait):
                    self._append(record)
                return
            except AuditBusy as exc:
                self._defer(record, exc)
                return
        self._defer(record, None)

    def _defer(self, record: Record, error: Exception | None) -> None:
        with self._cond:
            if len(self._pending) >= MAX_PENDING:
                log.error(
                    "audit log: %d records waiting; this one is dropped: %s",
                    len(self._pending),
                    _text(record),
                )
                return
            if not self._pending:
                log.warning(
                    "audit log: %s; records are queued and will be written in order when it frees", error
                )
            self._pending.append(_late(record))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="capfence-audit-backlog", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _run(self) -> None:
        delay = _FIRST_RETRY
        written = 0
        while True:
            with self._cond:
                if not self._pending or self._stopping:
                    self._thread = None
                    self._cond.notify_all()
                    if written:
                        log.info("audit log: %d queued records written", written)
                    return
                record = self._pending[0]
            try:
                with within(self._attempt):
                    self._append(record)
            except Exception as exc:  # noqa: BLE001 - retried until the log frees or close() gives up
                log.debug("audit log: queued record not written yet: %s", exc)
                with self._cond:
                    self._cond.wait(delay)
                delay = min(delay * 2, _MAX_RETRY)
                continue
            delay = _FIRST_RETRY
            written += 1
            with self._cond:
                if self._pending and self._pending[0] is record:  # close() may have given up on it meanwhile
                    self._pending.popleft()
                self._written += 1
                self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait for the queue to drain while it drains: give up once no record was written for ``timeout`` seconds.

        True if the queue is empty. (A busy machine slows the writing down but
        keeps it moving; a locked log stops it.)
        """
        with self._cond:
            self._cond.notify_all()  # cut a backoff short
            while self._pending:
                if not self._cond.wait_for(self._progress(self._written), timeout):
                    return False
            return True

    def _progress(self, seen: int) -> Callable[[], bool]:
        """A predicate: the queue is empty, or a record was written since ``seen``."""
        return lambda: not self._pending or self._written != seen

    def close(self, timeout: float) -> None:
        """:meth:`flush`, stop the thread, and log every record still not written."""
        if self.flush(timeout):
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._thread is None, self._attempt + 1.0)
            left, self._pending = list(self._pending), deque()
            self._stopping = False
        for record in left:
            log.error("audit log: record not written (the log stayed unavailable): %s", _text(record))


def _late(record: Record) -> Record:
    """``record`` with the time it happened (its built ``ts``) kept in ``detail`` as ``occurred_at``."""
    try:
        detail = json.loads(str(record["detail"])) if record.get("detail") else {}
    except ValueError:
        return record
    if not isinstance(detail, dict) or "ts" not in record:
        return record
    return {**record, "detail": json.dumps({**detail, "occurred_at": record["ts"]})}


def _text(record: Record) -> str:
    return json.dumps(dict(record), default=str, sort_keys=True)


_BACKLOGS: weakref.WeakSet[Backlog] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child starts empty: the parent's thread writes the parent's queue, and its lock may be held."""
    for backlog in list(_BACKLOGS):
        backlog._init_state()


def _at_exit() -> None:
    for backlog in list(_BACKLOGS):
        if backlog.pending:
            backlog.close(backlog._attempt)


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
