"""Cost of a rate-limit check: ``runtime.evaluate`` with a ``limit:`` rule vs the same policy without it.

Both write the decision to an on-disk SQLite log. With the limit, the decision is written in a write transaction
that first reads the usage of the call's window (an indexed range sum over the ``usage`` table) and then adds the
call's usage row. The realistic case is "at most N calls per minute per agent": each key's window holds at most N
rows, whatever the traffic. Calls rotate over many agents so each key holds about ``--rows`` rows, and a second
variant reads one key with 1,000 rows in its window, to show how the sum grows.

    python benchmarks/bench_limits.py [--calls N]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from capfence import ActionRuntime

BASE = """
default: deny
deny:
  - capability: shell.execute
    contains: 'rm -rf'
{limit}
warn:
  - capability: shell.execute
allow:
  - capability: svc.read
"""
LIMIT = """  - id: rate
    capability: shell.execute
    limit: {max: 1000000000, per: 1h, by: agent}"""
PAYLOAD = {"command": "git status --short", "cwd": "/srv/app"}


def make(tmp: Path, name: str, limit: str) -> ActionRuntime:
    policy = tmp / f"{name}.yaml"
    policy.write_text(BASE.format(limit=limit))
    return ActionRuntime.from_policy(policy, audit_log=tmp / f"{name}.db")


def call(runtime: ActionRuntime, agents: int) -> Callable[[], object]:
    names = itertools.cycle([f"agent{i}" for i in range(agents)])
    return lambda: runtime.evaluate("shell.execute", PAYLOAD, agent_id=next(names))


def interleaved(variants: dict[str, Callable[[], object]], calls: int, rounds: int = 10) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, fn in variants.items():
            for _ in range(calls // rounds):
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--rows", type=int, default=10, help="Usage rows per key in the rotating case.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        plain, limited, hot = make(tmp, "plain", ""), make(tmp, "limited", LIMIT), make(tmp, "hot", LIMIT)
        for _ in range(1000):
            hot.evaluate("shell.execute", PAYLOAD, agent_id="hot")  # one key with 1,000 rows in its window
        agents = max(1, (args.calls + 200) // args.rows)
        variants = {"plain": call(plain, agents), "limited": call(limited, agents), "hot": call(hot, 1)}
        for fn in variants.values():
            for _ in range(200):
                fn()
        medians = interleaved(variants, args.calls)
        for runtime in (plain, limited, hot):
            runtime.close()
    plain_cost, limited_cost, hot_cost = medians["plain"], medians["limited"], medians["hot"]
    print(f"bench_limits ({args.calls} calls each, interleaved rounds, medians)")
    print(f"  evaluate+audit, no limit              {plain_cost * 1e6:8.1f} us")
    print(
        f"  evaluate+audit, one limit rule        {limited_cost * 1e6:8.1f} us   +{(limited_cost - plain_cost) * 1e6:.1f} us "
        f"(~{args.rows} rows per key in the window)"
    )
    print(
        f"  evaluate+audit, one limit rule        {hot_cost * 1e6:8.1f} us   +{(hot_cost - plain_cost) * 1e6:.1f} us "
        f"(1,000+ rows in the key's window)"
    )


if __name__ == "__main__":
    main()
