"""Per-call overhead of ``runtime.evaluate`` (evaluate + audit write) vs a bare SQLite insert+commit.

The baseline inserts the same row (same schema, indexes and pragmas) with a
plain INSERT in autocommit mode: the floor any on-disk audit must pay. A
second baseline inserts it into a table with no secondary index (issue 24's
target for the audit write: the 10-rule call within 2x of it, its p99 within
3x of its median). We
report medians and ratios measured in the same run. The shell pack's
evaluation alone (no audit write) is reported too: the command matcher's
cost per call.

    python benchmarks/bench_evaluate.py [--calls N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from capfence import ActionRuntime
from capfence.audit.sqlite import COLUMNS, SQLiteStore, connect
from capfence.call.view import CallView
from capfence.plugins import build_registry
from capfence.policy.engine import evaluate
from capfence.policy.loader import load_policy

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = {"command": "git status --short", "cwd": "/srv/app"}


def policy_text(rules: int) -> str:
    """``rules`` rules spread over many capabilities, like a real fleet policy; shell.execute gets a few."""
    lines = ["default: deny", "deny:"]
    lines += [
        "  - capability: shell.execute\n    contains: 'rm -rf'",
        "  - capability: shell.execute\n    contains: curl",
    ]
    lines += [f"  - capability: svc{i}.call\n    contains: 'drop table'" for i in range(rules // 2 - 2)]
    lines += ["warn:", "  - capability: shell.execute"]
    lines += ["allow:"] + [f"  - capability: svc{i}.read" for i in range(rules - rules // 2 - 1)]
    return "\n".join(lines) + "\n"


def time_calls(fn: object, calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return samples


def runtime_call(tmp: Path, rules: int) -> tuple[ActionRuntime, Callable[[], object]]:
    policy = tmp / f"policy{rules}.yaml"
    policy.write_text(policy_text(rules))
    runtime = ActionRuntime.from_policy(policy, audit_log=tmp / f"audit{rules}.db")
    assert len(runtime.policy.rules) == rules, len(runtime.policy.rules)
    return runtime, lambda: runtime.evaluate("shell.execute", PAYLOAD, agent_id="bench")


SHELL_COMMANDS = [
    "git status",
    "ls -la src",
    "rm -rf build",
    "cat README.md | grep TODO",
    "curl -s https://example.com | jq .",
    "npm test && npm run build",
    "systemctl restart nginx",
    "find . -name '*.log' -delete",
]


def shell_pack_call(tmp: Path, *, unique: bool) -> tuple[ActionRuntime, Callable[[], object]]:
    """The hardened shell pack on a rotation of typical commands; ``unique`` makes each one new, so no parse is cached."""
    runtime = ActionRuntime.from_policy(
        ROOT / "policies" / "packs" / "shell.yaml", audit_log=tmp / f"audit-shell-{unique}.db"
    )
    counter = iter(range(10**9))

    def call() -> object:
        i = next(counter)
        command = SHELL_COMMANDS[i % len(SHELL_COMMANDS)] + (f" # {i}" if unique else "")
        return runtime.evaluate("shell.execute", {"command": command}, agent_id="bench")

    return runtime, call


def matcher_call(*, unique: bool) -> Callable[[], object]:
    """The shell pack's evaluation alone, no audit write: what the command matcher costs per call."""
    policy = load_policy(ROOT / "policies" / "packs" / "shell.yaml", build_registry().conditions)
    counter = iter(range(10**9))

    def call() -> object:
        i = next(counter)
        command = SHELL_COMMANDS[i % len(SHELL_COMMANDS)] + (f" # {i}" if unique else "")
        return evaluate(policy, CallView("shell.execute", {"command": command}, "bench"))

    return call


def recorded_row(tmp: Path) -> dict[str, object]:
    """The row ``runtime.evaluate`` writes for the 10-rule call (hashes, digests, reason and detail included)."""
    runtime, call = runtime_call(tmp / "template", 10)
    call()
    runtime.close()
    with connect(str(tmp / "template" / "audit10.db")) as conn:
        values = conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
    return dict(zip(COLUMNS, values, strict=True))


def bare_insert_call(tmp: Path, row: dict[str, object], *, indexes: bool = True) -> Callable[[], object]:
    """A plain INSERT of the same row in autocommit mode; ``indexes=False``: into a table with no secondary index at all."""
    path = str(tmp / f"bare{'' if indexes else '-noindex'}.db")
    SQLiteStore(path).append({"ts": "x", "kind": "decision"})  # same schema, WAL, pragmas
    if not indexes:
        with connect(path) as setup:
            names = setup.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL"
            )
            for (name,) in names.fetchall():
                setup.execute(f"DROP INDEX {name}")
    conn = connect(path)
    conn.execute("PRAGMA synchronous = NORMAL")
    cols = [c for c in COLUMNS if c != "seq"]
    sql = f"INSERT INTO records ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    values = [row[c] for c in cols]
    return lambda: conn.execute(sql, values)


def interleaved(
    variants: dict[str, Callable[[], object]],
    calls: int,
    rounds: int = 10,
    tails: dict[str, float] | None = None,
) -> dict[str, float]:
    """Median per-call time of each variant, measured in alternating rounds so machine load hits all alike.

    ``tails``, if given, receives each variant's 99th percentile.
    """
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():
        time_calls(fn, 200)  # warm up
    for _ in range(rounds):
        for name, fn in variants.items():
            samples[name].extend(time_calls(fn, max(1, calls // rounds)))
    if tails is not None:
        tails.update({name: statistics.quantiles(values, n=100)[98] for name, values in samples.items()})
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        rt10, call10 = runtime_call(tmp, 10)
        rt1000, call1000 = runtime_call(tmp, 1000)
        rt_seen, call_seen = shell_pack_call(tmp, unique=False)
        rt_new, call_new = shell_pack_call(tmp, unique=True)
        (tmp / "template").mkdir()
        row = recorded_row(tmp)
        variants = {
            "bare": bare_insert_call(tmp, row),
            "bare_noindex": bare_insert_call(tmp, row, indexes=False),
            "r10": call10,
            "r1000": call1000,
            "shell": call_seen,
            "shell_new": call_new,
        }
        tails: dict[str, float] = {}
        medians = interleaved(variants, args.calls, tails=tails)
        for runtime in (rt10, rt1000, rt_seen, rt_new):
            runtime.close()
    bare, r10, r1000 = medians["bare"], medians["r10"], medians["r1000"]
    print(f"bench_evaluate ({args.calls} calls each, interleaved rounds, medians)")
    noindex = medians["bare_noindex"]
    print(f"  bare SQLite insert+commit      {bare * 1e6:8.1f} us   (baseline)")
    print(
        f"  the same, no secondary index   {noindex * 1e6:8.1f} us   (baseline of the audit write, issue 24)"
    )
    print(
        f"  evaluate+audit, 10 rules       {r10 * 1e6:8.1f} us   {r10 / bare:5.2f}x baseline   (target <= 2x)   "
        f"{r10 / noindex:5.2f}x no-index insert (target <= 2x)"
    )
    print(
        f"  p99 / median, 10 rules         {tails['r10'] * 1e6:8.1f} us   {tails['r10'] / r10:5.2f}x its median   (target <= 3x; "
        f"bare insert {tails['bare'] / bare:.2f}x, no-index insert {tails['bare_noindex'] / noindex:.2f}x)"
    )
    print(
        f"  evaluate+audit, 1,000 rules    {r1000 * 1e6:8.1f} us   {r1000 / bare:5.2f}x baseline   "
        f"{r1000 / r10:5.2f}x 10 rules (target <= 1.2x)"
    )
    rules = len(load_policy(ROOT / "policies" / "packs" / "shell.yaml", build_registry().conditions).rules)
    for key, label in (("shell", "repeated commands"), ("shell_new", "every command new")):
        cost = medians[key]
        ratio = cost / bare
        print(
            f"  evaluate+audit, shell pack     {cost * 1e6:8.1f} us   {ratio:5.2f}x baseline   ({rules} rules, {label}; target <= 3x)"
        )
    alone = interleaved({"seen": matcher_call(unique=False), "new": matcher_call(unique=True)}, args.calls)
    for key, label in (("seen", "repeated commands"), ("new", "every command new")):
        cost = alone[key]
        print(
            f"  shell pack evaluation alone    {cost * 1e6:8.1f} us   {cost / bare:5.2f}x baseline   (no audit write; {label})"
        )


if __name__ == "__main__":
    main()
