"""Decisions per second with 1, 4, 16 and 64 writer processes, SQLite against PostgreSQL, and the per-call latency.

Each writer process builds its own :class:`~capfence.ActionRuntime` on the
same audit log and calls ``runtime.evaluate`` (policy evaluation plus the
audit write, committed before it returns) in a loop for ``--seconds``; all
writers start together. "per call" is the median latency of one
``evaluate``; "overhead" subtracts the median of the policy evaluation alone
(measured in the same run), which is what the audit write costs a tool call.
"CPU per decision" is the CPU time the writers (their whole process) and the
PostgreSQL server (every server process) spent per decision: on a machine
shared with other work, throughput and latency depend on how much CPU the
benchmark gets, while this does not, and ``cores / CPU per decision`` is the
rate an otherwise idle machine could sustain if the disk keeps up.

PostgreSQL is a real server started for the run the way the tests start it
(``tests/support/postgres_server.py``: Debian's binaries, a temporary cluster on a
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
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' PostgreSQL server (tests/support/postgres_server.py)

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


def _writer(
    location: str, policy: str, store: str, seconds: float, barrier: Any, started: Any, results: Any
) -> None:
    from capfence import ActionRuntime

    if store == "postgresql-held":
        _hold_lock_through_flush()
    latencies: list[float] = []
    failures = 0
    with ActionRuntime.from_policy(policy, audit_log=location) as runtime:
        # open the store and migrate outside the timing
        runtime.evaluate("shell.execute", PAYLOAD, agent_id="warm-up")
        barrier.wait(timeout=120)
        started.put(True)
        cpu = time.process_time()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            decision = runtime.evaluate("shell.execute", PAYLOAD, agent_id="bench")
            latencies.append(time.perf_counter() - started)
            failures += decision.reason.startswith("internal_error")
        cpu = time.process_time() - cpu
    results.put((latencies, failures, cpu))


def server_cpu(data: Path | None) -> float:
    """CPU seconds used so far by the PostgreSQL server whose data directory is ``data``: the postmaster, its live
    children, and its children that have exited (0 without a server, or where /proc cannot tell)."""
    if data is None:
        return 0.0
    try:
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
        tick = float(os.sysconf("SC_CLK_TCK"))
        total = sum(_cpu_fields(postmaster, with_children=True))
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _parent(int(entry.name)) == postmaster:
                total += sum(_cpu_fields(int(entry.name), with_children=False))
        return total / tick
    except (OSError, ValueError, IndexError):
        return 0.0


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def _parent(pid: int) -> int:
    try:
        return int(_stat(pid)[1])
    except (OSError, ValueError, IndexError):
        return -1


def _cpu_fields(pid: int, *, with_children: bool) -> list[int]:
    """utime, stime (and cutime, cstime) in clock ticks; nothing for a process that has just exited."""
    try:
        fields = _stat(pid)  # from field 3 (state) on: utime is field 14, so index 11
    except OSError:
        return []
    return [int(x) for x in fields[11 : 15 if with_children else 13]]


def run(
    location: str, policy: Path, store: str, procs: int, seconds: float, data: Path | None = None
) -> tuple[float, float, float, int, float]:
    """(decisions per second, median and 99th percentile seconds per call, failed calls, CPU seconds per decision)
    for ``procs`` writers (the server's CPU counted when its data directory ``data`` is given)."""
    barrier, started, results = SPAWN.Barrier(procs), SPAWN.Queue(), SPAWN.Queue()
    workers = [
        SPAWN.Process(target=_writer, args=(location, str(policy), store, seconds, barrier, started, results))
        for _ in range(procs)
    ]
    for worker in workers:
        worker.start()
    started.get(timeout=300)  # the writers are warmed up and past the barrier: the timed loops begin
    served = server_cpu(data)
    collected = [results.get(timeout=seconds + 180) for _ in workers]
    served = server_cpu(data) - served
    for worker in workers:
        worker.join(timeout=60)
    latencies = sorted(x for lat, _, _ in collected for x in lat)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    cpu = (sum(c for _, _, c in collected) + served) / max(1, len(latencies))
    return len(latencies) / seconds, statistics.median(latencies), p99, sum(f for _, f, _ in collected), cpu


def evaluation_only(policy: Path) -> float:
    """Median seconds of the policy evaluation alone (no audit write)."""
    from capfence.call.view import CallView
    from capfence.plugins import build_registry
    from capfence.policy.engine import evaluate
    from capfence.policy.loader import load_policy

    compiled = load_policy(policy, build_registry().conditions)
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
    load = os.getloadavg()
    stores = args.stores.split(",")

    from tests.support.postgres_server import PostgresServer, find_binaries

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
                    data = server.data if server is not None and store != "sqlite" else None
                    rate, median, p99, failed, cpu = run(location, policy, store, procs, args.seconds, data)
                    rows.append((store, procs, rate, median, p99, failed, cpu))
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
        f"| {'store':<32} | writers | decisions/s | vs one chain | per call (median) | p99 |"
        " overhead (median) | CPU per decision | failed |"
    )
    print(
        f"|{'-' * 34}|---------|-------------|--------------|-------------------|-----|"
        "-------------------|------------------|--------|"
    )
    for store, procs, rate, median, p99, failed, cpu in rows:
        overhead = (median - base) * 1000
        ratio = (
            f"{rate / baseline[procs]:.2f}x" if procs in baseline and store.startswith("postgresql") else ""
        )
        print(
            f"| {LABELS[store]:<32} | {procs:>7} | {rate:>11,.0f} | {ratio:>12} | {median * 1000:>14.2f} ms"
            f" | {p99 * 1000:.1f} ms | {overhead:>14.2f} ms | {cpu * 1000:>13.3f} ms | {failed:>6} |"
        )
    print(
        f"\nload average (1, 5, 15 min) at the start: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}; "
        f"at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
