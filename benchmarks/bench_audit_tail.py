"""The audit write's tail (issue 24, part 3): ``SQLiteStore.append`` per call with each way of checkpointing the WAL.

Variants, interleaved in rounds in one process, each on its own file: the
checkpoint in the commit that crosses 1,000 WAL pages (SQLite's default),
at 4,000 pages (the store's default, :data:`~capfence.audit.sqlite.COMMIT_CHECKPOINT`),
and on the store's background thread (``CHECKPOINT_EVERY = 1000``). For each:
median, p99 and p99.9 of the wall time, and the same net of the time the
thread waited on the run queue while other processes had its core
(``/proc/thread-self/schedstat``, Linux): on a shared two-core machine
those waits (a scheduler tick, 4 ms, now and then) set the wall p99 by
themselves, whatever the audit write does. A baseline inserts the same row
with a plain ``INSERT`` into a table with no secondary index.

    python benchmarks/bench_audit_tail.py [--calls N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import capfence.audit.sqlite as sqlite_store
from capfence.audit.sqlite import COLUMNS, SQLiteStore, connect

ROW: dict[str, object] = {
    "kind": "decision",
    "agent_id": "bench",
    "capability": "shell.execute",
    "payload": '{"command":"git status --short","cwd":"/srv/app"}',
    "payload_sha256": "a" * 64,
    "payload_bytes": 48,
    "decision": "warn",
    "rule": "warn[0]",
    "reason": 'warn rule: capability "shell.execute"',
    "policy_digest": "b" * 64,
    "detail": '{"decided_by": "rule", "rule_line": 14, "rule_source": "/srv/app/policy.yaml"}',
}
VARIANTS = {  # (COMMIT_CHECKPOINT, CHECKPOINT_EVERY)
    "checkpoint in the commit, 1,000 pages": (1000, 0),
    "checkpoint in the commit, 4,000 pages": (4000, 0),
    "checkpoint thread, every 1,000 commits": (4000, 1000),
}


def run_queue_clock() -> Callable[[], float]:
    """Seconds this thread has waited on a run queue so far (0.0 where Linux's schedstat is not available)."""
    try:
        fd = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
    except OSError:
        return lambda: 0.0
    return lambda: int(os.pread(fd, 100, 0).split()[1]) / 1e9


def store_call(tmp: Path, name: str, settings: tuple[int, int]) -> Callable[[], object]:
    sqlite_store.COMMIT_CHECKPOINT, sqlite_store.CHECKPOINT_EVERY = settings
    store = SQLiteStore(tmp / f"{name}.db")
    store.append(ROW)  # the connection opens with these settings

    def call() -> object:
        sqlite_store.CHECKPOINT_EVERY = settings[1]  # read on each commit by the thread's counter
        return store.append(ROW)

    return call


def bare_noindex_call(tmp: Path) -> Callable[[], object]:
    """The row inserted with a plain INSERT into the same table with no secondary index (autocommit, WAL, NORMAL)."""
    path = str(tmp / "bare.db")
    SQLiteStore(path).append(ROW)
    conn = connect(path)
    for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL"
    ).fetchall():
        conn.execute(f"DROP INDEX {name}")
    conn.execute("PRAGMA synchronous = NORMAL")
    row = {name: ROW.get(name) for name in COLUMNS if name != "seq"}
    row.update(
        ts="2026-01-01T00:00:00.000000+00:00", truncated=0, redacted=0, prev_hash="0" * 64, hash="0" * 64
    )
    sql = f"INSERT INTO records ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
    values = list(row.values())
    return lambda: conn.execute(sql, values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000, help="calls per variant")
    parser.add_argument("--rounds", type=int, default=20)
    options = parser.parse_args()
    waited = run_queue_clock()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        calls = {
            name: store_call(tmp, f"v{i}", settings) for i, (name, settings) in enumerate(VARIANTS.items())
        }
        calls["plain INSERT, no secondary index"] = bare_noindex_call(tmp)
        wall: dict[str, list[float]] = {name: [] for name in calls}
        net: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(options.rounds):
            for name, call in calls.items():
                for _ in range(options.calls // options.rounds):
                    before = waited()
                    start = time.perf_counter()
                    call()
                    took = time.perf_counter() - start
                    net[name].append(max(0.0, took - (waited() - before)))
                    wall[name].append(took)
    print(
        f"bench_audit_tail ({options.calls} appends each, interleaved rounds; load {os.getloadavg()[0]:.1f})"
    )
    for name in calls:
        for label, samples in (("wall", wall[name]), ("net of run-queue wait", net[name])):
            cuts = statistics.quantiles(samples, n=1000)
            median, p99, p999 = statistics.median(samples), cuts[989], cuts[998]
            print(
                f"  {name:40s} {label:22s} median {median * 1e6:6.1f} us   p99 {p99 * 1e6:8.1f} us "
                f"({p99 / median:5.1f}x)   p99.9 {p999 * 1e6:8.1f} us"
            )
    print("  (target: p99 <= 3x the median, issue 24)")


if __name__ == "__main__":
    main()
