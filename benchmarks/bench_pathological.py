"""Time to decide each pathological shell command (``tests/support/pathological.py``) through the hardened shell pack.

Every input is at most 65,000 characters (the matcher's cap on one command is 65,536) and built to make
one part of the analysis slow: huge brace sequences, deep nesting of each quoting and substitution form,
interpreter code that made a scanner backtrack, thousands of commands, assignments, case items,
here-documents, redirections. Each is evaluated with ``ActionRuntime.evaluate`` (the audit write to an
on-disk SQLite log included) after clearing the analysis caches, ``--runs`` times; the fastest and the
median run are printed with the decision. The target is 20 ms for every input.

    python benchmarks/bench_pathological.py [--runs N] [--match TEXT]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from capfence import ActionRuntime
from capfence.policy.shell import cache

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.pathological import cases  # noqa: E402 - the catalogue lives with the tests that use it

TARGET_MS = 20.0


def timings(runtime: ActionRuntime, command: str, runs: int) -> tuple[list[float], str]:
    samples = []
    decision = None
    for _ in range(runs):
        cache.clear()
        start = time.perf_counter()
        decision = runtime.evaluate("shell.execute", {"command": command}, agent_id="bench")
        samples.append((time.perf_counter() - start) * 1000)
    assert decision is not None
    return samples, f"{decision.action} ({decision.rule})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--match", default="", help="only inputs whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = ActionRuntime.from_policy(
            ROOT / "policies" / "packs" / "shell.yaml", audit_log=Path(tmp) / "audit.db"
        )
        runtime.evaluate("shell.execute", {"command": "ls"}, agent_id="bench")  # warm up
        rows = []
        for name, command in cases().items():
            if args.match in name:
                samples, decided = timings(runtime, command, args.runs)
                rows.append((name, len(command), min(samples), statistics.median(samples), decided))
        runtime.close()
    print(f"bench_pathological ({len(rows)} inputs, {args.runs} uncached runs each; ms)")
    print(f"  {'input':<46} {'chars':>6} {'fastest':>8} {'median':>8}  decision")
    for name, size, best, median, decided in rows:
        print(f"  {name:<46} {size:>6} {best:>8.2f} {median:>8.2f}  {decided}")
    worst = max(rows, key=lambda row: row[2])
    over = [row[0] for row in rows if row[2] > TARGET_MS]
    print(
        f"slowest: {worst[0]} {worst[2]:.2f} ms (fastest run); "
        f"median of the medians {statistics.median(row[3] for row in rows):.2f} ms; "
        f"over the {TARGET_MS:.0f} ms target: {len(over)}{' ' + ', '.join(over) if over else ''}"
    )


if __name__ == "__main__":
    main()
