"""A 10 MB payload is decided in bounded time and memory, under every condition type at once."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

from capfence import ActionRuntime

POLICY = """
deny:
  - capability: shell.execute
    command: {program: rm, flags: [[-r, -R, --recursive], [-f, --force]]}
  - capability: shell.execute
    contains: ["drop table", "rm -rf"]
  - capability: shell.execute
    matches: '(a+)+$|(x+x+)+y|.*.*.*z'
  - capability: shell.execute
    path: {under: [/etc]}
  - capability: shell.execute
    url: {private: true}
allow:
  - capability: shell.execute
"""

TEN_MB = 10 * 1024 * 1024


def test_ten_megabyte_payload_is_bounded(tmp_path: Path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    payloads = {
        "one string": {"command": "echo " + "a" * TEN_MB},
        "many strings": {"notes": ["x" * 1024] * (TEN_MB // 1024)},
        "deep and wide": {"cmd": "ls", "data": {f"k{i}": {"v": "y" * 100} for i in range(TEN_MB // 200)}},
    }
    with ActionRuntime.from_policy(policy, audit_log=tmp_path / "audit.db") as runtime:
        for name, payload in payloads.items():
            tracemalloc.start()
            start = time.perf_counter()
            decision = runtime.evaluate("shell.execute", payload, agent_id="big")
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert decision.action in ("allow", "deny"), name
            assert "internal_error" not in decision.reason, (name, decision.reason)
            # a bound, not a benchmark: hostile input must not hang
            assert elapsed < 60, f"{name}: {elapsed:.1f} s"
            assert peak < 40 * TEN_MB, f"{name}: peak {peak / 1e6:.0f} MB"
            assert decision.record_id is not None
