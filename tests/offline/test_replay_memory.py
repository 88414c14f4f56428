"""A replay's memory does not grow with its input: measured in a subprocess (peak resident set), 20,000 vs 200,000 calls.

A property, not a timing, with loose bounds. Calls that never repeat: the decision cache stops filling after one
window, so the peak does not move (a cache that kept every call, or 100,000 of them, added 70 MB here). Calls that
repeat: the cache fills up to its bound and no further.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import POLICIES

CACHE_MB = 30
"""What the decision cache may hold at most for these calls (32,768 of them, ~20 MB), with room for allocator noise."""
PEAK = """
import resource, sys
from tests.support.loading import load_policy
from capfence.offline.replay_source import replay_file
result = replay_file(sys.argv[1], load_policy(sys.argv[2]), jobs=int(sys.argv[3]))
assert result.replayed == int(sys.argv[4]), result.replayed
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _distinct(path: Path, calls: int, repeat: int) -> Path:
    """``calls`` shell calls; each command comes back ``repeat`` times in a row, so some are cache hits."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(calls):
            command = f"git log -n {n // repeat} -- src/module_{n // repeat}.py # {'x' * 200}"
            record = {"seq": n + 1, "capability": "shell.execute", "agent_id": f"agent-{n // repeat % 7}"}
            out.write(json.dumps({**record, "payload": {"command": command}, "decision": "allow"}) + "\n")
    return path


def _peak_mb(path: Path, calls: int, jobs: int = 1) -> float:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK,
            str(path),
            str(POLICIES / "shell_production.yaml"),
            str(jobs),
            str(calls),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(done.stdout) / 1024  # KiB on Linux


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
@pytest.mark.parametrize(("repeat", "growth"), [(1, 8), (4, CACHE_MB)])
def test_memory_does_not_grow_with_the_file(tmp_path: Path, repeat: int, growth: int) -> None:
    small = _peak_mb(_distinct(tmp_path / "small.jsonl", 20_000, repeat), 20_000)
    large = _peak_mb(_distinct(tmp_path / "large.jsonl", 200_000, repeat), 200_000)
    assert large < small + growth, (small, large)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_each_process_of_a_split_replay_is_as_small(tmp_path: Path) -> None:
    """With --jobs, the largest process (RUSAGE_CHILDREN: the largest child's peak) stays as small as one replay."""
    path = _distinct(tmp_path / "large.jsonl", 200_000, 1)
    one = _peak_mb(path, 200_000)
    script = PEAK.replace("RUSAGE_SELF", "RUSAGE_CHILDREN")
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), str(POLICIES / "shell_production.yaml"), "2", "200000"],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    assert int(done.stdout) / 1024 < one + 8
