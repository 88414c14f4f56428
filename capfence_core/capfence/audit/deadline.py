"""One time budget for everything an audit write waits on.

A write can wait in three places: behind other threads of this process (the
store's lock, a connection pool), behind other processes (SQLite's file lock,
PostgreSQL's chain lock) and on the storage itself. Bounding each separately
multiplies: a 5 s busy timeout behind 15 queued threads is 80 s. Instead the
caller opens one :func:`within` block and every wait inside it takes only
what is left (``lock.acquire(timeout=remaining())``, SQLite's busy timeout
and PostgreSQL's ``lock_timeout`` set to the remainder before each attempt),
so the whole write is bounded by the budget whatever the number of threads.

The budget travels in a :class:`~contextvars.ContextVar` rather than as an
argument, so stores keep the one-argument ``append(record)`` of the store
protocol and code between the runtime and the store (the approval queue's
``store.transaction()``) honours it without knowing about it;
``asyncio.to_thread`` carries it into worker threads. Outside any
:func:`within` block a store applies its own default budget per operation.

When a budget runs out the store raises :class:`AuditBusy`, an
:class:`~capfence.errors.AuditError`: the runtime denies the call and says so.
"""

from __future__ import annotations

import contextvars
import math
import time

from capfence.errors import AuditError


class Deadline:
    """``seconds`` of budget that run out at ``expires`` (``time.monotonic()``). (A plain slots class: one is made per call.)"""

    __slots__ = ("expires", "seconds")

    def __init__(self, seconds: float, expires: float) -> None:
        self.seconds, self.expires = seconds, expires

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds left, never negative (0: only non-blocking attempts remain)."""
        return max(0.0, self.expires - time.monotonic())

    def busy(self, cause: str) -> AuditBusy:
        """The error for this budget having run out while ``cause``."""
        return AuditBusy(self.seconds, cause)


class AuditBusy(AuditError):
    """An audit write could not complete within its time budget (the log is locked or overloaded).

    ``seconds`` is the budget, ``cause`` what the write was waiting for.
    """

    def __init__(self, seconds: float, cause: str) -> None:
        self.seconds, self.cause = seconds, cause
        super().__init__(f"audit log busy: could not write within {seconds_text(seconds)} s ({cause})")


_CURRENT: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "capfence_audit_deadline", default=None
)


class within:  # noqa: N801 - used like the function it reads as: ``with within(3.0):``
    """Bound every audit write inside the block by ``seconds`` in all (nested blocks keep the earlier expiry).

    A class rather than a ``@contextmanager`` generator: every call enters one, and this costs a third as much.
    """

    __slots__ = ("_token", "deadline")

    def __init__(self, seconds: float) -> None:
        if not (seconds > 0 and math.isfinite(seconds)):
            raise ValueError(f"an audit time budget must be a positive number of seconds, not {seconds!r}")
        outer = _CURRENT.get()
        expires = time.monotonic() + seconds  # (Deadline.after spelled out: one block is entered per call)
        self.deadline = outer if outer is not None and outer.expires < expires else Deadline(seconds, expires)

    def __enter__(self) -> Deadline:
        self._token = _CURRENT.set(self.deadline)
        return self.deadline

    def __exit__(self, *exc: object) -> None:
        _CURRENT.reset(self._token)


def current(default_seconds: float) -> Deadline:
    """The budget in force, or a fresh one of ``default_seconds`` for a write outside any :func:`within` block."""
    deadline = _CURRENT.get()
    return deadline if deadline is not None else Deadline.after(default_seconds)


def active() -> Deadline | None:
    """The budget set by an enclosing :func:`within` block, if any."""
    return _CURRENT.get()


def seconds_text(seconds: float) -> str:
    """``3.0``, ``1.5``, ``0.25``: at least one decimal, no float noise."""
    return f"{seconds:.1f}" if round(seconds, 1) == seconds else f"{seconds:g}"
