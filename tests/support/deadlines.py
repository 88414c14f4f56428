"""The audit write deadline the deadline tests set, the margin their time bounds allow, and calls released together.

Used by ``tests/audit/test_audit_deadline.py`` (SQLite) and ``tests/audit/test_postgres_deadline.py`` (PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEADLINE = 1.0
"""The runtime's per-call deadline for its audit write, in seconds, as the tests set it."""

MARGIN = 2.0
"""Generous: a loaded 2-core machine schedules threads late, but never a whole extra busy timeout late."""


def call_together(
    count: int, call: Callable[[], object]
) -> tuple[list[tuple[float, BaseException | None]], float]:
    """Run ``call`` in ``count`` threads released together: each one's (seconds, exception), and the wall time of all."""
    barrier = threading.Barrier(count + 1)
    results: list[tuple[float, BaseException | None]] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        started, error = time.monotonic(), None
        try:
            call()
        except BaseException as exc:
            error = exc
        with lock:
            results.append((time.monotonic() - started, error))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.monotonic()
    for t in threads:
        t.join()
    return results, time.monotonic() - started
