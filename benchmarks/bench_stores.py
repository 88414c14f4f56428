"""Decisions per second with 1, 4, 16 and 64 writer processes, SQLite against PostgreSQL, and the per-call latency.

Each writer process builds its own :class:`~capfence.ActionRuntime` on the
same audit log and calls ``runtime.evaluate`` (policy evaluation plus the
audit write, committed before it returns) in a loop for ``--seconds``; all
writers start together. "per call" is the median latency of one
``evaluate``; "overhead" subtracts the median of the policy evaluation alone
(measured in the same run), which is what the audit write costs a tool call.

PostgreSQL is a real server started for the run the way the tests start it
(``tests/postgres_server.py``: Debian's binaries, a temporary cluster on a
loopback port, default durability: ``fsync`` and ``synchronous_commit`` on).
``postgresql (partitioned)`` is the store's default: plain appends spread
over partitioned chains (``partitions=64``), one statement per append.
``postgresql (one chain)`` is the single chain every append went through
before (``?partitions=0``: an advisory lock over two round trips), the
baseline the partitioned store is measured against in the same run; ratios
are printed. ``postgresql (lock held to flush)`` is the simpler single-chain
design the store rejected (the chain lock held through a synchronous
commit). See :mod:`capfence.audit.postgres` for the designs.

    python benchmarks/bench_stores.py [--seconds 4] [--procs 1,4,16,64] [--stores sqlite,postgresql,postgresql-single,postgresql-held]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

POLICY = """
deny:
  - capability: shell.execute
    contains: rm -rf
warn:
  - capability: shell.*
allow:
  - capability: "*"
"""
PAYLOAD = {"command": "git status --short", "cwd": "/srv/app"}
SPAWN = multiprocessing.get_context("spawn")
LABELS = {
    "sqlite": "sqlite (WAL)",
    "postgresql": "postgresql (partitioned)",
    "postgresql-single": "postgresql (one chain)",
    "postgresql-held": "postgresql (lock held to flush)",
}
QUERY = {"postgresql": "", "postgresql-single": "?partitions=0", "postgresql-held": "?partitions=0"}
"""What each PostgreSQL row adds to the database's URL."""


def _hold_lock_through_flush() -> None:
    """The rejected design: a synchronous chain commit, so the lock is held until the WAL is flushed (one chain)."""
    from capfence.audit import postgres

    postgres._BEGIN = postgres._BEGIN.replace(" SET LOCAL synchronous_commit = off;", "")
    postgres._TICK = "SELECT 1"


def _writer(location: str, policy: str, store: str, seconds: float, barrier: Any, results: Any) -> None:
    from capfence import ActionRuntime

    if store == "postgresql-held":
        _hold_lock_through_flush()
    latencies: list[float] = []
    failures = 0
    with ActionRuntime.from_policy(policy, audit_log=location) as runtime:
        # open the store and migrate outside the timing
        runtime.evaluate("shell.execute", PAYLOAD, agent_id="warm-up")
        barrier.wait(timeout=120)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            decision = runtime.evaluate("shell.execute", PAYLOAD, agent_id="bench")
            latencies.append(time.perf_counter() - started)
            failures += decision.reason.startswith("internal_error")
    results.put((latencies, failures))


def run(
    location: str, policy: Path, store: str, procs: int, seconds: float
) -> tuple[float, float, float, int]:
    """(decisions per second, median and 99th percentile seconds per call, failed calls) for ``procs`` writers."""
    barrier, results = SPAWN.Barrier(procs), SPAWN.Queue()
    workers = [
        SPAWN.Process(target=_writer, args=(location, str(policy), store, seconds, barrier, results))
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    collected = [results.get(timeout=seconds + 180) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    latencies = sorted(x for lat, _ in collected for x in lat)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / seconds, statistics.median(latencies), p99, sum(f for _, f in collected)


def evaluation_only(policy: Path) -> float:
    """Median seconds of the policy evaluation alone (no audit write)."""
    from capfence.policy.engine import evaluate
    from capfence.policy.loader import load_policy
    from capfence.policy.view import CallView

    compiled = load_policy(policy)
    view = CallView("shell.execute", PAYLOAD, "bench", None, None, None, None)
    samples = []
    for _ in range(20000):
        started = time.perf_counter()
        evaluate(compiled, view)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--procs", default="1,4,16,64")
    parser.add_argument("--stores", default="sqlite,postgresql,postgresql-single")
    args = parser.parse_args()
    counts = [int(n) for n in args.procs.split(",")]
    stores = args.stores.split(",")

    from postgres_server import PostgresServer, find_binaries

    with tempfile.TemporaryDirectory(prefix="capfence-bench-") as tmp:
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(POLICY)
        base = evaluation_only(policy)
        server = None
        if any(s.startswith("postgresql") for s in stores):
            if find_binaries() is None:
                print(
                    "PostgreSQL binaries not found (apt-get install postgresql): PostgreSQL rows skipped",
                    file=sys.stderr,
                )
                stores = [s for s in stores if not s.startswith("postgresql")]
            else:
                server = PostgresServer().start()
        try:
            rows = []
            for store in stores:
                for procs in counts:
                    location = (
                        str(Path(tmp) / f"{store}-{procs}.db")
                        if store == "sqlite"
                        else server.create_database() + QUERY[store]  # type: ignore[union-attr]
                    )
                    rate, median, p99, failed = run(location, policy, store, procs, args.seconds)
                    rows.append((store, procs, rate, median, p99, failed))
                    print(
                        f"  {LABELS[store]:<32} {procs:>2} writer(s): {rate:8.0f}/s",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            if server is not None:
                server.destroy()
    print(
        f"\npolicy evaluation alone: median {base * 1e6:.1f} µs per call; {args.seconds:g} s per run; "
        "per call = median evaluate() latency, overhead = per call minus evaluation alone\n"
    )
    baseline = {procs: rate for store, procs, rate, *_ in rows if store == "postgresql-single"}
    print(
        f"| {'store':<32} | writers | decisions/s | vs one chain | per call (median) | p99 | overhead (median) | failed |"
    )
    print(
        f"|{'-' * 34}|---------|-------------|--------------|-------------------|-----|-------------------|--------|"
    )
    for store, procs, rate, median, p99, failed in rows:
        overhead = (median - base) * 1000
        ratio = (
            f"{rate / baseline[procs]:.2f}x" if procs in baseline and store.startswith("postgresql") else ""
        )
        print(
            f"| {LABELS[store]:<32} | {procs:>7} | {rate:>11,.0f} | {ratio:>12} | {median * 1000:>14.2f} ms"
            f" | {p99 * 1000:.1f} ms | {overhead:>14.2f} ms | {failed:>6} |"
        )


if __name__ == "__main__":
    main()
