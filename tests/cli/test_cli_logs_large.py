"""``capfence logs`` on a 100,000-row audit log: seconds, and memory that does not grow with the log (every format)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import record_calls
from tests.support.paths import POLICIES

ROWS = 100_000
MEASURE = """\
import resource, sys
from capfence.cli import main
try:
    main(sys.argv[1:])
finally:
    sys.stderr.write(f"peak-rss-kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n")
"""
"""Runs the command line in a fresh interpreter and reports its peak resident memory (KiB on Linux)."""


def _grow(audit: Path, rows: int) -> None:
    """Copy the log's real decision rows until it holds ``rows`` (the hash chain is not valid after this; logs does not check it)."""
    with sqlite3.connect(audit) as conn:
        columns = ", ".join(row[1] for row in conn.execute("PRAGMA table_info(records)") if row[1] != "seq")
        while conn.execute("SELECT count(*) FROM records").fetchone()[0] < rows:
            conn.execute(f"INSERT INTO records ({columns}) SELECT {columns} FROM records")
        conn.execute(
            "DELETE FROM records WHERE seq NOT IN (SELECT seq FROM records ORDER BY seq LIMIT ?)", (rows,)
        )


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    """A 1,000-row and a 100,000-row audit log, written by a real ActionRuntime (then copied up)."""
    out = {}
    for rows in (1000, ROWS):
        audit = tmp_path_factory.mktemp(f"log{rows}") / "audit.db"
        calls = [("shell.execute", {"command": f"deploy --step {i} " + "x" * (i % 150)}) for i in range(1000)]
        record_calls(audit, POLICIES / "shell_rollout.yaml", calls, tool="run_shell")
        with sqlite3.connect(audit) as conn:
            conn.execute("DELETE FROM records WHERE kind != 'decision'")
        _grow(audit, rows)
        out[rows] = audit
    return out


def _measure(*args: str) -> tuple[str, float, int]:
    """(what it wrote, seconds, peak memory in KiB) of ``capfence ARGS`` with its output read from a pipe."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CAPFENCE_")},
        "COLUMNS": "160",
        "TZ": "UTC",
    }
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    )
    seconds = time.perf_counter() - started
    peak = int(done.stderr.rsplit("peak-rss-kib=", 1)[1])
    return done.stdout, seconds, peak


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "jsonl", "json"])
def test_all_of_a_large_log_streams(logs: dict[int, Path], fmt: str) -> None:
    _, _, small = _measure("logs", "-n", "0", "--format", fmt, "--audit-log", str(logs[1000]))
    out, seconds, large = _measure("logs", "-n", "0", "--format", fmt, "--audit-log", str(logs[ROWS]))
    assert out.count("\n") >= ROWS
    assert seconds < 30, f"{fmt}: {seconds:.1f}s for {ROWS} rows"
    assert large - small < 16 * 1024, (
        f"{fmt}: peak memory grew by {(large - small) // 1024} MiB from 1,000 to {ROWS} rows"
    )
    if fmt == "table":  # and the table is whole: a line per row, between its header and its count
        lines = out.splitlines()
        notes = [
            line for line in lines[-4:] if line.startswith("(")
        ]  # what was cut, what is hidden: a line each
        assert lines[-1] == f"{ROWS} decision(s)" and len(lines) == ROWS + 4 + len(notes)


@pytest.mark.slow
def test_the_last_row_of_a_large_log_is_the_newest(logs: dict[int, Path]) -> None:
    last = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "capfence.cli",
                "logs",
                "-n",
                "1",
                "--format",
                "json",
                "--audit-log",
                str(logs[ROWS]),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    with sqlite3.connect(logs[ROWS]) as conn:
        assert len(last) == 1 and last[0]["seq"] == conn.execute("SELECT max(seq) FROM records").fetchone()[0]
