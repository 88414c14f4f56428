"""Benchmarks for the ``capfence`` command line (issue 3's targets), run with ``nox -s bench``.

* ``capfence --help`` (interpreter start-up included): target < 250 ms.
* ``capfence suggest`` on the 1,000,000-row audit.db (every decision read and grouped).
* ``capfence logs --limit 50`` with a filter on a 1,000,000-row audit.db: target < 400 ms wall, start-up included.
* ``capfence replay`` of a 1,000,000-record JSONL (``capfence export`` output, calls that repeat) and of 1,000,000
  distinct records (no two calls alike, so every one is evaluated: issue 24), with ``--jobs 1`` and ``--jobs 2``,
  with the standard library's JSON parser and with orjson (the ``fast`` extra, installed by the bench session),
  against a baseline measured in the same rounds: reading and ``json.loads``-ing every line in one process (the
  floor of any one-process replay). Target >= 150,000 records/s, peak memory < 150 MB (largest process).

The 1,000,000-row audit log is generated once (a real schema made by ActionRuntime, then rows chained with
the real hash function, the way the store appends them) and cached in ``$CAPFENCE_BENCH_DIR`` (default: a
``capfence-bench`` directory in the system temp dir). ``--rows N`` changes the size.
Every figure is the median of several runs of the real executable, measured from this script.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from synthetic_log import build, decision_row

from capfence.audit.timeorder import seq_ordered

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = ROOT / "policies" / "shell_production.yaml"
SCRIPT = Path(sys.executable).with_name("capfence")
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "capfence.cli"]

PROGRAMS = [
    "ls -la",
    "git status",
    "cat README.md",
    "rm -rf /tmp/cache",
    "curl -s https://example.com",
    "systemctl restart nginx",
    "python manage.py test",
    "npm run build",
]


def timed(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of one run of ``capfence ARGS``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [*COMMAND, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"capfence {' '.join(args)} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def median_of(runs: int, args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    results = [timed(args, env) for _ in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        max(r[2] for r in results),
    )


def build_log(path: Path, rows: int) -> None:
    """An audit log of ``rows`` decisions: schema by ActionRuntime, rows chained with the store's hash function."""
    if path.exists():
        conn = sqlite3.connect(path)
        count = conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        current = seq_ordered(conn)  # made by this build: no ts index (a log of an earlier one is rebuilt)
        conn.close()
        if count == rows and current:
            return
        path.unlink()
    build(path, log_rows(rows))


def log_rows(rows: int) -> Iterator[dict[str, object]]:
    """The log's decisions: 28 days of June 2025, nine in ten shell commands (``rm -rf`` denied), the rest file reads."""
    random.seed(7)
    commands = [f"{p} {i}" if i else p for p in PROGRAMS for i in range(250)]
    for n in range(rows):
        at = n * 28 * 86400 // rows  # seconds into June: never going backwards, as the store stamps them
        shell = n % 10 != 0
        payload = json.dumps(
            {"command": random.choice(commands)} if shell else {"path": f"/srv/data/{n % 500}.txt"},
            separators=(",", ":"),
        )
        decision = "deny" if "rm -rf" in payload else ("warn" if shell else "allow")
        yield decision_row(
            ts=f"2025-06-{1 + at // 86400:02d}T{at // 3600 % 24:02d}:{at // 60 % 60:02d}:{at % 60:02d}.000000+00:00",
            agent_id=f"agent-{n % 7}",
            tool="run_shell" if shell else "read_file",
            capability="shell.execute" if shell else "filesystem.read",
            payload=payload,
            decision=decision,
            rule={"deny": "deny[0]", "warn": "warn[0]", "allow": "allow[0]"}[decision],
            reason=f"{decision} rule",
        )


def build_distinct(path: Path, rows: int) -> None:
    """``rows`` export-shaped JSONL records whose calls are all different (a number in each command or path): no cache hit."""
    random.seed(7)
    with path.open("w", encoding="utf-8") as out:
        for n in range(rows):
            shell = n % 10 != 0
            payload = (
                {"command": f"{random.choice(PROGRAMS)} {n}"} if shell else {"path": f"/srv/data/{n}.txt"}
            )
            decision = "deny" if "rm -rf" in payload.get("command", "") else ("warn" if shell else "allow")
            record = {
                "seq": n + 1,
                "ts": "2025-06-01T00:00:00.000000+00:00",
                "kind": "decision",
                "agent_id": f"agent-{n % 7}",
                "framework": "langchain",
                "tool": "run_shell" if shell else "read_file",
                "capability": "shell.execute" if shell else "filesystem.read",
                "environment": "production",
                "payload": payload,
                "payload_sha256": "0" * 64,
                "payload_bytes": 30,
                "truncated": False,
                "redacted": False,
                "decision": decision,
                "rule": "r",
                "reason": "x",
                "policy_digest": "1" * 64,
                "ref": None,
                "outcome": None,
                "detail": None,
                "prev_hash": "0" * 64,
                "hash": "1" * 64,
            }
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--jobs", type=lambda text: [int(n) for n in text.split(",")], default=[1, 2], help="e.g. 1,2,4"
    )
    options = parser.parse_args()
    work = Path(os.environ.get("CAPFENCE_BENCH_DIR") or Path(tempfile.gettempdir()) / "capfence-bench")
    work.mkdir(parents=True, exist_ok=True)
    audit, jsonl = work / f"audit-{options.rows}.db", work / f"audit-{options.rows}.jsonl"

    wall, _, _ = median_of(options.runs * 2, ["--help"])
    print(f"capfence --help: {wall * 1000:.0f} ms (target < 250 ms)")

    build_log(audit, options.rows)
    for label, filters in (
        ("--decision deny", ["--decision", "deny"]),
        ("--agent agent-3", ["--agent", "agent-3"]),
        ("--capability 'shell.*'", ["--capability", "shell.*"]),
        ("--since 2025-06-20", ["--since", "2025-06-20"]),
    ):
        wall, _, _ = median_of(options.runs, ["logs", "--audit-log", str(audit), "--limit", "50", *filters])
        print(
            f"capfence logs --limit 50 {label} on {options.rows:,} rows: {wall * 1000:.0f} ms (target < 400 ms)"
        )

    if not jsonl.exists() or jsonl.stat().st_mtime < audit.stat().st_mtime:
        wall, _, peak = timed(["export", "--audit-log", str(audit), "-o", str(jsonl)])
        print(
            f"capfence export of {options.rows:,} decisions: {wall:.1f} s ({options.rows / wall:,.0f} records/s), peak {peak:.0f} MB"
        )
    distinct = work / f"distinct-{options.rows}.jsonl"
    if not distinct.exists():
        build_distinct(distinct, options.rows)
    for label, path in (("repeated", jsonl), ("distinct", distinct)):
        replays(label, path, options)
    wall, _, peak = median_of(1, ["replay", str(audit), "--policy", str(PRODUCTION)])
    print(
        f"capfence replay of the {options.rows:,}-row audit.db: {options.rows / wall:,.0f} records/s wall, peak {peak:.0f} MB"
    )
    wall, cpu, peak = median_of(1, ["suggest", "--audit-log", str(audit), "--policy", str(PRODUCTION)])
    print(
        f"capfence suggest on the {options.rows:,}-row audit.db: {options.rows / wall:,.0f} records/s wall, "
        f"{options.rows / cpu:,.0f} records/s per CPU second, peak {peak:.0f} MB"
    )


PARSERS = ("stdlib", "orjson") if importlib.util.find_spec("orjson") else ("stdlib",)
"""The JSON parsers replay is measured with: the standard library's, and orjson's when installed (the ``fast`` extra)."""
PARSE_ONLY = (
    "import json, sys\nfor line in open(sys.argv[1], encoding='utf-8', errors='replace'): json.loads(line)\n"
)
"""The baseline of a replay: reading and parsing every line with the standard library, in one process."""


def replays(label: str, path: Path, options: argparse.Namespace) -> None:
    """``capfence replay`` of ``path`` with each number of jobs, and the parse-only baseline, in alternating rounds."""
    runs = max(1, options.runs // 2)
    size = f"{path.stat().st_size >> 20} MB"
    variants: dict[str, tuple[list[str], dict[str, str]]] = {"baseline": ([], {})}
    for parser in PARSERS:
        for jobs in options.jobs:
            variants[f"--jobs {jobs} ({parser})"] = (
                ["replay", str(path), "--policy", str(PRODUCTION), "--jobs", str(jobs)],
                {"CAPFENCE_JSON_PARSER": parser},
            )
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    for _ in range(runs):
        for name, (args, env) in variants.items():
            if name == "baseline":
                results[name].append(timed_python([PARSE_ONLY, str(path)]))
            else:
                results[name].append(timed(args, env))
    base = statistics.median(r[0] for r in results["baseline"])
    print(
        f"baseline: json.loads of every line of {options.rows:,} {label} records ({size}), one process: "
        f"{options.rows / base:,.0f} lines/s"
    )
    for name, measured in results.items():
        if name == "baseline":
            continue
        walls = sorted(r[0] for r in measured)
        wall, cpu = statistics.median(walls), statistics.median(r[1] for r in measured)
        peak = max(r[2] for r in measured)
        print(
            f"capfence replay {name} of {options.rows:,} {label} records: {options.rows / wall:,.0f} records/s wall "
            f"({options.rows / walls[-1]:,.0f}-{options.rows / walls[0]:,.0f}), {wall / base:.2f}x baseline time, "
            f"{options.rows / cpu:,.0f} records/s per CPU second, peak {peak:.0f} MB (largest process) "
            "(target >= 150,000 records/s, < 150 MB)"
        )


def timed_python(args: list[str]) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MB) of ``python -c ARGS``."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", *args])
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit("the baseline failed")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


if __name__ == "__main__":
    main()
